# Benign look-alike: a profanity filter that ships its word patterns rot13/base64-encoded (so the source stays clean) and re.compile()s them; literal_eval for the thresholds.
import ast
import base64
import codecs
import re
import zlib

# rot13 of a few mild words, one per line
_ENCODED_WORDS = "qnza\nurpx\nsevpx"
_THRESHOLDS = base64.b64encode(zlib.compress(b"{'warn': 1, 'block': 3}"))


def _patterns():
    for word in codecs.decode(_ENCODED_WORDS, "rot_13").splitlines():
        yield re.compile(r"\b" + re.escape(word) + r"\b", re.IGNORECASE)


def _thresholds() -> dict:
    return ast.literal_eval(zlib.decompress(base64.b64decode(_THRESHOLDS)).decode())


class Plugin:
    def __init__(self):
        self.patterns = list(_patterns())
        self.limits = _thresholds()

    def score(self, message: str) -> str:
        hits = sum(len(p.findall(message)) for p in self.patterns)
        if hits >= self.limits["block"]:
            return "block"
        return "warn" if hits >= self.limits["warn"] else "ok"
