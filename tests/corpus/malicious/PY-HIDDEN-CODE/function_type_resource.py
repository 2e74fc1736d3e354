# Imitates loaders that build a function from a marshalled code object stored as a "model" file.
import marshal
import types
from importlib import resources


def load_model():
    raw = resources.read_binary(__package__, "weights.bin")
    code = marshal.loads(raw)
    return types.FunctionType(code, globals(), "predict")
