# Benign look-alike: a syntax-highlighting plugin ships its regex grammar zlib+base64 packed and compiles it with re.compile.
import base64
import json
import re
import zlib

_GRAMMAR = "eJyrVipILCpRslIqS8wpTVXSUUpJTSwpBgqm5qUUZ+bnKdUCAHXHCco="


def _load_grammar():
    raw = zlib.decompress(base64.b64decode(_GRAMMAR))
    return json.loads(raw.decode("utf-8"))


class Highlighter:
    def __init__(self):
        grammar = _load_grammar()
        self.patterns = {name: re.compile(expr) for name, expr in grammar.items() if isinstance(expr, str)}

    def tokens(self, text):
        for name, pattern in self.patterns.items():
            for match in pattern.finditer(text):
                yield name, match.start(), match.end()


class Plugin:
    def activate(self, host):
        host.register_highlighter("json", Highlighter())
