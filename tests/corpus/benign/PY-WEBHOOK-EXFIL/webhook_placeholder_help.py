# Benign look-alike: documents the expected webhook format with a placeholder URL and validates what the user gives.
import re

import requests

EXAMPLE = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
PATTERN = re.compile(r"^https://hooks\.slack\.com/services/")


def send(url: str, text: str) -> None:
    if not PATTERN.match(url):
        raise ValueError(f"expected a Slack webhook like {EXAMPLE}")
    requests.post(url, json={"text": text}, timeout=10)
