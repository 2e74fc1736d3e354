# Benign look-alike: tells the user whether a sitecustomize module is active (imports nothing, only looks it up).
import importlib.util


def sitecustomize_active():
    spec = importlib.util.find_spec("sitecustomize")
    return None if spec is None else spec.origin
