# Benign look-alike: posts a build status with a few named CI variables (not the whole environment, no credential files).
import os

import requests


def report_status(state: str) -> None:
    payload = {
        "state": state,
        "commit": os.environ.get("GITHUB_SHA", ""),
        "run": os.environ.get("GITHUB_RUN_ID", ""),
    }
    requests.post("https://status.example.com/api/builds", json=payload, timeout=10)
