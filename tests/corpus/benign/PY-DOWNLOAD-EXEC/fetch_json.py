# Benign look-alike: fetches JSON from an HTTP API and returns parsed data.
import requests


def latest_release(project: str) -> str:
    response = requests.get(f"https://api.example.com/projects/{project}/releases", timeout=10)
    response.raise_for_status()
    return response.json()["latest"]
