"""An optional webhook: each alert raised or resolved is POSTed as JSON to `PLUGYARD_ALERT_WEBHOOK`.

Delivery is best effort, from a thread of its own, so a slow or dead receiver never holds up the judge: each
alert is tried a few times, then dropped with a log line. The events on the bus are the record; the webhook
is a nudge.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("plugyard.telemetry.webhook")

WEBHOOK_ENV = "PLUGYARD_ALERT_WEBHOOK"
ATTEMPTS = 3
TIMEOUT_S = 5.0
BACKLOG = 1000


class WebhookConfigError(ValueError):
    """PLUGYARD_ALERT_WEBHOOK that is not an http(s) URL."""


class Webhook:
    def __init__(self, url: str, *, attempts: int = ATTEMPTS, timeout_s: float = TIMEOUT_S, backoff_s: float = 1.0) -> None:
        self.url = url
        self.attempts = attempts
        self.timeout_s = timeout_s
        self.backoff_s = backoff_s
        self.delivered = 0
        self.dropped = 0
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(BACKLOG)
        self._thread = threading.Thread(target=self._deliver, name="alert-webhook", daemon=True)
        self._thread.start()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Webhook | None:
        url = (os.environ if environ is None else environ).get(WEBHOOK_ENV, "").strip()
        if not url:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise WebhookConfigError(f"{WEBHOOK_ENV} must be an http:// or https:// URL; got {url!r}")
        return cls(url)

    def send(self, event: str, alert: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait({"event": event, "alert": alert})
        except queue.Full:
            self.dropped += 1
            log.warning("webhook backlog full: %s of alert %s not sent", event, alert.get("alert_id"))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=self.timeout_s * self.attempts)

    def _deliver(self) -> None:
        while (payload := self._queue.get()) is not None:
            body = json.dumps(payload).encode()
            for attempt in range(1, self.attempts + 1):
                try:
                    request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"}, method="POST")
                    with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                        response.read()
                    self.delivered += 1
                    break
                except (urllib.error.URLError, OSError, ValueError) as exc:
                    if attempt == self.attempts:
                        self.dropped += 1
                        log.warning("webhook %s: %s of alert %s dropped after %d attempts: %s",
                                    self.url, payload["event"], payload["alert"].get("alert_id"), attempt, exc)
                    else:
                        time.sleep(self.backoff_s * attempt)
