# Benign look-alike: resolves the host name the user configured before connecting.
import socket


def address(settings: dict) -> str:
    return socket.gethostbyname(settings.get("server", "api.example.com"))
