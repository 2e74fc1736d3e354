# Benign look-alike: an unofficial client that says it is not affiliated with the vendor
class Plugin:
    pass
