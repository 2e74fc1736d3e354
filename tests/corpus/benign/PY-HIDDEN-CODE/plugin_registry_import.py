# Benign look-alike: reads a JSON list of extension module names and imports them (a plugin loader, no exec of file content).
import importlib
import json
from pathlib import Path


def load_extensions():
    names = json.loads((Path(__file__).parent / "extensions.json").read_text(encoding="utf-8"))
    return [importlib.import_module(name) for name in names if name.startswith("plugyard_")]
