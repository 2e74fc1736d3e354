# Pattern: fake verification badges in a package description (packages claiming the registry vetted them)
class Plugin:
    pass
