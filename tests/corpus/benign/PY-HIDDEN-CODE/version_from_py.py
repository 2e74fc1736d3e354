# Benign look-alike: runs the package's own _version.py (Python source, reviewed as such) to read the version.
import os

HERE = os.path.dirname(__file__)


def version():
    namespace = {}
    with open(os.path.join(HERE, "_version.py"), encoding="utf-8") as handle:
        exec(handle.read(), namespace)
    return namespace["__version__"]
