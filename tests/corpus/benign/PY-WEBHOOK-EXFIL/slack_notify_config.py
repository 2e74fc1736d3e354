# Benign look-alike: posts a notification to a Slack webhook the user configured (the URL comes from settings).
import requests


def notify(settings: dict, text: str) -> None:
    url = settings.get("slack_webhook_url")
    if url:
        requests.post(url, json={"text": text}, timeout=10)
