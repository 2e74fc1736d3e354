# Benign look-alike: a plain setup.py that only reads its README and declares the package.
from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="plugyard-notes",
    version="1.4.0",
    long_description=(Path(__file__).parent / "README.md").read_text(encoding="utf-8"),
    packages=find_packages(exclude=["tests"]),
    install_requires=["rich>=13"],
)
