# Benign look-alike: posts build events as JSON to a webhook URL the user configures (default on example.com); no service token is hard-coded.
import json
import urllib.request
from dataclasses import asdict, dataclass


@dataclass
class BuildEvent:
    project: str
    status: str
    duration_s: float


class WebhookNotifier:
    def __init__(self, url: str = "https://hooks.example.com/ci/events"):
        self.url = url

    def notify(self, event: BuildEvent) -> int:
        req = urllib.request.Request(
            self.url, data=json.dumps(asdict(event)).encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status


class Plugin:
    def __init__(self, settings: dict):
        self.notifier = WebhookNotifier(settings.get("webhook_url", "https://hooks.example.com/ci/events"))

    def on_build_finished(self, project: str, ok: bool, duration: float) -> None:
        self.notifier.notify(BuildEvent(project, "success" if ok else "failure", duration))
