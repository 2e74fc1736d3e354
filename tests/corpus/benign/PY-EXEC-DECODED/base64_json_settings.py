# Benign look-alike: base64-decodes settings passed in an environment variable and parses them as JSON (no code is run).
import base64
import json
import os


def load_settings():
    raw = os.environ.get("TEXTKIT_SETTINGS", "")
    if not raw:
        return {}
    return json.loads(base64.b64decode(raw).decode("utf-8"))
