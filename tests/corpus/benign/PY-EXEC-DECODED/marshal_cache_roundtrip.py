# Benign look-alike: caches parsed data with marshal.dumps/marshal.loads (a data round trip, no code objects run).
import marshal
from pathlib import Path


def save(path: Path, table: dict) -> None:
    path.write_bytes(marshal.dumps(table))


def load(path: Path) -> dict:
    return marshal.loads(path.read_bytes())


def roundtrip(table: dict) -> dict:
    return marshal.loads(marshal.dumps(table))
