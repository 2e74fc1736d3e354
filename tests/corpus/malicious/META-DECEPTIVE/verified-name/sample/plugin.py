# Pattern: names that claim a verified status the publisher does not have (verified-* package names)
class Plugin:
    pass
