# Benign look-alike: compressed data shipped with the plugin and decompressed into JSON, never executed
import gzip
import json
from pathlib import Path

DATA = Path(__file__).parent / "data" / "words.json.gz"


def words():
    return json.loads(gzip.decompress(DATA.read_bytes()))
