"""The alert webhook: a local HTTP receiver gets each alert raised and resolved; a dead one never holds up the judge."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from plugyard_telemetry.alert_rules import load_rules
from plugyard_telemetry.judge import Judge, JudgeConfigError
from plugyard_telemetry.webhook import Webhook
from tests.telemetry.support import T0, Feed, application, sample_body


class Receiver:
    def __init__(self, fail_first: int = 0) -> None:
        self.bodies: list[dict] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if receiver.fail_first > 0:
                    receiver.fail_first -= 1
                    self.send_response(503)
                else:
                    receiver.bodies.append(body)
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, n: int, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.bodies) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.bodies

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver(fail_first=1)
    yield r
    r.close()


def test_each_alert_raised_and_resolved_is_posted(tmp_path, receiver):
    feed = Feed(tmp_path / "w")
    app = application(tmp_path)
    webhook = Webhook(receiver.url, backoff_s=0.01)
    judge = Judge(feed.warehouse, app, load_rules(), webhook=webhook)
    try:
        feed.loaded("demo", "1.0.0")
        feed.loader_event("PermissionViolation", "demo", "1.0.0", at=T0, permission="network", target="example.com:443", count=1)
        feed.sample(sample_body(at=T0, latencies={"hello": [1.0]}))
        judge.run_once(now=T0 + timedelta(seconds=1))
        judge.run_once(now=T0 + timedelta(minutes=11))  # the violation is out of the 10-minute window
        bodies = receiver.wait_for(2)
        assert [b["event"] for b in bodies] == ["AlertRaised", "AlertResolved"]
        assert bodies[0]["alert"]["rule"] == "permission-violations" and bodies[0]["alert"]["name"] == "demo"
        assert bodies[1]["alert"]["state"] == "resolved"
    finally:
        judge.close()
        feed.close()


def test_a_dead_receiver_costs_the_judge_nothing(tmp_path):
    webhook = Webhook("http://127.0.0.1:9/nothing-listens", attempts=2, backoff_s=0.01, timeout_s=0.5)
    started = time.monotonic()
    webhook.send("AlertRaised", {"alert_id": "x"})
    assert time.monotonic() - started < 0.5
    webhook.close()
    assert webhook.dropped == 1 and webhook.delivered == 0


@pytest.mark.parametrize("url", ["ftp://example.com/", "not a url", "http://"])
def test_a_webhook_that_is_not_an_http_url_is_a_config_error(tmp_path, monkeypatch, url):
    monkeypatch.setenv("PLUGYARD_ALERT_WEBHOOK", url)
    feed = Feed(tmp_path / "w")
    try:
        with pytest.raises(JudgeConfigError, match="PLUGYARD_ALERT_WEBHOOK"):
            Judge.from_env(feed.warehouse, application(tmp_path))
    finally:
        feed.close()
