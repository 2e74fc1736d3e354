# Benign look-alike: a CI-notification plugin that posts build status to a Slack incoming webhook the user configures in settings.
import json
import urllib.request


class SlackNotifier:
    def __init__(self, settings):
        self.url = settings.get("slack_webhook_url")  # e.g. https://hooks.slack.com/services/... entered by the user

    def notify(self, job, status):
        if not self.url:
            return
        text = f":white_check_mark: {job} passed" if status == "ok" else f":x: {job} failed"
        req = urllib.request.Request(self.url, data=json.dumps({"text": text}).encode(), headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=5)


class Plugin:
    def activate(self, host):
        notifier = SlackNotifier(host.settings)
        host.on_build_finished(notifier.notify)
