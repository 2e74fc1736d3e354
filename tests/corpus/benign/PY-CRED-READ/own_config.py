# Benign look-alike: reads the plugin's own configuration file under ~/.config.
import tomllib
from pathlib import Path

CONFIG = Path.home() / ".config" / "textkit" / "config.toml"


def settings() -> dict:
    return tomllib.loads(CONFIG.read_text()) if CONFIG.exists() else {}
