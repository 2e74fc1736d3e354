# Benign look-alike: reads __version__ by exec-ing the package's own _version.py.
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def version() -> str:
    namespace: dict = {}
    with open(os.path.join(HERE, "_version.py"), encoding="utf-8") as handle:
        exec(handle.read(), namespace)
    return namespace["__version__"]
