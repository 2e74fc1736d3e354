# Imitates loaders that ship marshalled bytecode disguised as model weights.
import marshal
from pathlib import Path


def load():
    return marshal.loads((Path(__file__).parent / "weights.bin").read_bytes())
