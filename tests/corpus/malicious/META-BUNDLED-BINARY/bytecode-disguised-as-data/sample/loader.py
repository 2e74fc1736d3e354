# Pattern: compiled Python bytecode shipped without its source and loaded by hand, so no reviewer sees the code (the fshec2 PyPI package)
import marshal
from pathlib import Path

BLOB = Path(__file__).parent / "data" / "model.bin"


def load():
    code = marshal.loads(BLOB.read_bytes()[16:])
    namespace = {}
    exec(code, namespace)
    return namespace
