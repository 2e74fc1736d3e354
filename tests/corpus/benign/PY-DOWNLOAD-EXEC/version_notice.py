# Benign look-alike: checks for a newer version over HTTP and prints a notice.
import json
import urllib.request

from importlib.metadata import version


def check_for_update() -> None:
    with urllib.request.urlopen("https://pypi.example.com/pypi/plugyard-textkit/json", timeout=5) as response:
        latest = json.load(response)["info"]["version"]
    if latest != version("plugyard-textkit"):
        print(f"plugyard-textkit {latest} is available")
