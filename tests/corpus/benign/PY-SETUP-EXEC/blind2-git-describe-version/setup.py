# Benign look-alike: version derived from `git describe` at build time (a very common pattern), README as long description.
import subprocess
from pathlib import Path

from setuptools import find_packages, setup


def git_version(default="0.0.0"):
    try:
        out = subprocess.check_output(["git", "describe", "--tags", "--always"], stderr=subprocess.DEVNULL, text=True)
        return out.strip().lstrip("v")
    except (OSError, subprocess.CalledProcessError):
        return default


readme = Path(__file__).with_name("README.md")

setup(
    name="sample",
    version=git_version(),
    description="A sample plugin",
    long_description=readme.read_text() if readme.exists() else "",
    long_description_content_type="text/markdown",
    packages=find_packages(),
)
