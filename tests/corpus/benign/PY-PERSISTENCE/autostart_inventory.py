# Benign look-alike: an inventory plugin that reads (only) the autostart entries and Run key values to report them.
import configparser
import os
import sys
from pathlib import Path


def desktop_entries():
    folder = Path.home() / ".config" / "autostart"
    entries = []
    for entry in sorted(folder.glob("*.desktop")):
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(entry, encoding="utf-8")
        if parser.has_section("Desktop Entry"):
            entries.append((entry.name, parser.get("Desktop Entry", "Exec", fallback="")))
    return entries


def run_key_values():
    if sys.platform != "win32":
        return []
    import winreg

    values = []
    with winreg.OpenKey(winreg.HKEY_CURRENT_USER, r"Software\Microsoft\Windows\CurrentVersion\Run") as key:
        index = 0
        while True:
            try:
                name, value, _ = winreg.EnumValue(key, index)
            except OSError:
                break
            values.append((name, value))
            index += 1
    return values


def report():
    return {"autostart": desktop_entries(), "run": run_key_values(), "home": os.path.expanduser("~")}
