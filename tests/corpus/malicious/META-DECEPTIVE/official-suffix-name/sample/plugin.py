# Pattern: impersonation packages that append -official to a popular project's name to look like the vendor's own release
class Plugin:
    pass
