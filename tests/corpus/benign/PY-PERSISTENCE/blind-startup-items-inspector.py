# Benign look-alike: a "startup items" viewer that only READS the Run key, ~/.config/autostart and `crontab -l`, to show the user what starts at login.
import subprocess
import sys
from pathlib import Path


def windows_run_entries() -> dict[str, str]:
    if sys.platform != "win32":
        return {}
    import winreg

    entries = {}
    with winreg.OpenKey(winreg.HKEY_CURRENT_USER, r"Software\Microsoft\Windows\CurrentVersion\Run") as key:
        i = 0
        while True:
            try:
                name, value, _ = winreg.EnumValue(key, i)
            except OSError:
                break
            entries[name] = value
            i += 1
    return entries


def xdg_autostart() -> list[str]:
    folder = Path.home() / ".config" / "autostart"
    return sorted(p.name for p in folder.glob("*.desktop")) if folder.is_dir() else []


def cron_lines() -> list[str]:
    try:
        out = subprocess.run(["crontab", "-l"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [l for l in out.splitlines() if l and not l.startswith("#")]


class Plugin:
    def report(self) -> dict:
        return {"run_key": windows_run_entries(), "autostart": xdg_autostart(), "cron": cron_lines()}
