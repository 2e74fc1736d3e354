# Benign look-alike: writes the plugin's own settings file under ~/.config/<plugin>/ (not an autostart location).
import json
import os
from pathlib import Path

CONFIG_DIR = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "plugyard-notes"


def save(settings: dict) -> Path:
    CONFIG_DIR.mkdir(parents=True, exist_ok=True)
    path = CONFIG_DIR / "settings.json"
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(settings, handle, indent=2)
    return path
