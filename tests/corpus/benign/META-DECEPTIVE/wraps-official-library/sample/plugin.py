# Benign look-alike: a plugin describing the official library it wraps
class Plugin:
    pass
