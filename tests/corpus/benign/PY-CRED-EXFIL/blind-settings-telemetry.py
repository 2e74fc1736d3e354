# Benign look-alike: loads ~/.config/notes-sync/settings.toml, reads one API token env var, and syncs the user's notes to the configured API.
import os
import tomllib
from pathlib import Path

import requests

CONFIG = Path.home() / ".config" / "notes-sync" / "settings.toml"


def load_settings() -> dict:
    if CONFIG.exists():
        with CONFIG.open("rb") as fh:
            return tomllib.load(fh)
    return {"endpoint": "https://notes.example.com/api", "folder": str(Path.home() / "Notes")}


class Plugin:
    def __init__(self):
        self.settings = load_settings()
        self.token = os.environ.get("NOTES_SYNC_TOKEN", "")

    def sync(self) -> int:
        folder = Path(self.settings["folder"])
        sent = 0
        for note in folder.glob("*.md"):
            requests.put(
                f"{self.settings['endpoint']}/notes/{note.stem}",
                data=note.read_text(encoding="utf-8"),
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=10,
            )
            sent += 1
        return sent
