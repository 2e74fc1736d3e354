# Benign look-alike: a terse but real summary and a one-line description
class Plugin:
    pass
