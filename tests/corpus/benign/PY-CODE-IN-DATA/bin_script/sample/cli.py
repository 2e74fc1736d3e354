# Benign look-alike: the package behind a bundled shebang script.

def main(argv):
    return 0
