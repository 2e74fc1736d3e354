# Benign look-alike: reads the plugin's JSON defaults and parses them as data.
import json
from pathlib import Path

DEFAULTS = Path(__file__).parent / "defaults.json"


def load_settings(overrides=None):
    settings = json.loads(DEFAULTS.read_text(encoding="utf-8"))
    settings.update(overrides or {})
    return settings
