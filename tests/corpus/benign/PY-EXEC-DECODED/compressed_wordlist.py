# Benign look-alike: decompresses a bundled, zlib-compressed word list and splits it into words.
import zlib
from pathlib import Path

HERE = Path(__file__).parent


def stop_words():
    data = zlib.decompress((HERE / "stopwords.bin").read_bytes())
    return set(data.decode("utf-8").split())
