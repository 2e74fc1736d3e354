# Benign look-alike: asks git for the version (a fixed git command, no shell).
import subprocess

from setuptools import setup


def git_version():
    try:
        return subprocess.check_output(["git", "describe", "--tags", "--abbrev=0"], text=True).strip().lstrip("v")
    except (OSError, subprocess.CalledProcessError):
        return "0.0.0"


setup(name="plugyard-notes", version=git_version(), packages=["sample"])
