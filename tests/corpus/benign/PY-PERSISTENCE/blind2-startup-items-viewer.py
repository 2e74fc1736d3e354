# Benign look-alike: a "startup items" viewer listing (read-only) the HKCU Run key on Windows and the user's crontab on Linux.
import subprocess
import sys


def windows_run_entries():
    import winreg

    entries = []
    with winreg.OpenKey(winreg.HKEY_CURRENT_USER, r"Software\Microsoft\Windows\CurrentVersion\Run", 0, winreg.KEY_READ) as key:
        i = 0
        while True:
            try:
                name, value, _ = winreg.EnumValue(key, i)
            except OSError:
                break
            entries.append((name, value))
            i += 1
    return entries


def cron_entries():
    out = subprocess.run(["crontab", "-l"], capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if line and not line.startswith("#")]


class Plugin:
    def activate(self, host):
        lister = windows_run_entries if sys.platform == "win32" else cron_entries
        host.register_panel("startup-items", lambda widget: widget.show_list(lister()))
