# Benign look-alike: reads the version by exec-ing the package's own _version.py (Python source).
import os

from setuptools import setup

about = {}
with open(os.path.join(os.path.dirname(__file__), "sample", "_version.py"), encoding="utf-8") as handle:
    exec(handle.read(), about)

setup(name="plugyard-notes", version=about["__version__"], packages=["sample"])
