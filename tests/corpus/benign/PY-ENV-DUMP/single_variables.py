# Benign look-alike: reads individual variables with defaults.
import json
import os


def describe() -> str:
    return json.dumps({"home": os.environ.get("HOME"), "lang": os.getenv("LANG", "C"), "debug": "DEBUG" in os.environ})
