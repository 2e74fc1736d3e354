# Benign look-alike: an ordinary setup.py that reads README.md for the long description and the version from the package with a regex.
import pathlib
import re

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).parent
README = (HERE / "README.md").read_text(encoding="utf-8") if (HERE / "README.md").exists() else ""


def find_version() -> str:
    text = (HERE / "sample" / "__init__.py").read_text()
    match = re.search(r"^__version__ = ['\"]([^'\"]+)['\"]", text, re.M)
    return match.group(1) if match else "0.0.0"


setup(
    name="sample",
    version=find_version(),
    description="A corpus sample plugin",
    long_description=README,
    long_description_content_type="text/markdown",
    packages=find_packages(exclude=["tests"]),
    python_requires=">=3.9",
    install_requires=["requests>=2.28"],
    extras_require={"dev": ["pytest", "ruff"]},
)
