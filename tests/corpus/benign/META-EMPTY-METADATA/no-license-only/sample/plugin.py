# Benign look-alike: complete metadata except a license
class Plugin:
    pass
