# Benign look-alike: finds the machine's own addresses and fully qualified name.
import socket


def local_addresses() -> list[str]:
    infos = socket.getaddrinfo(socket.gethostname(), None)
    return sorted({info[4][0] for info in infos})


def fqdn() -> str:
    return socket.getfqdn()
