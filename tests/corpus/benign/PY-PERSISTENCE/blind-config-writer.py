# Benign look-alike: writes the plugin's own settings under ~/.config/<app>/ and a log under ~/.cache/<app>/ (XDG dirs, but no autostart, cron, unit or rc file).
import configparser
import os
from pathlib import Path

APP = "pomodoro-timer"


def xdg(var: str, default: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / default)


class Plugin:
    def __init__(self):
        self.config_dir = xdg("XDG_CONFIG_HOME", ".config") / APP
        self.cache_dir = xdg("XDG_CACHE_HOME", ".cache") / APP
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.cache_dir.mkdir(parents=True, exist_ok=True)

    def save(self, work_minutes: int, break_minutes: int) -> None:
        cfg = configparser.ConfigParser()
        cfg["timer"] = {"work": str(work_minutes), "break": str(break_minutes)}
        with open(self.config_dir / "config.ini", "w") as fh:
            cfg.write(fh)

    def log(self, line: str) -> None:
        with open(self.cache_dir / "history.log", "a") as fh:
            fh.write(line + "\n")
