# Benign look-alike: naming a vendor's official API the plugin talks to
class Plugin:
    pass
