"""Telemetry through a real stack: calls to a real plugin show in top, show, /metrics and SQL with the right counts;
a version slowed on purpose is a RegressionDetected and an alert that rolling back resolves; a plugin that grows
without bound gets a leak alert; the chart is a real image; the service killed -9 mid-ingestion loses no sample
and counts none twice; samples that are not samples are rejected without stopping anything."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import threading
import time
import urllib.request
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime
from pathlib import Path

import nats
import pytest

from plugyard_core.bus_identities import read_identity, seed_path
from tests.stack.support import start_stack

pytestmark = pytest.mark.stack

FAST = {
    "PLUGYARD_TELEMETRY_INTERVAL_S": "0.5",
    "PLUGYARD_TELEMETRY_JUDGE_S": "0.5",
    "PLUGYARD_TELEMETRY_ROLLUP_S": "1",
    "PLUGYARD_LEAK_WINDOW_S": "12",
}
SLOWER_BY = "time.sleep(0.05)\n        "


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = start_stack(tmp_path_factory.mktemp("telemetry-stack"), env=FAST)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def key(stack, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("key") / "k.key"
    assert stack.cli("keys", "new", "--out", str(path), "--insecure-plain").returncode == 0
    return path


def until(check, what: str, timeout: float = 60, every: float = 0.3):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(every)


def publish(stack, key: Path, folder: Path, name: str, version: str, *, slower: bool = False, extra_action: str = "") -> None:
    if not folder.exists():
        stack.cli_json("init", str(folder), "--name", name)
    manifest = folder / "plugin.toml"
    manifest.write_text(re.sub(r'(?m)^version = ".*"$', f'version = "{version}"', manifest.read_text()))
    code = folder / name.replace("-", "_") / "__init__.py"
    text = code.read_text()
    if slower and "import time" not in text:
        text = "import time\n" + text
    if slower:
        text = text.replace('log.info("greeting', SLOWER_BY + 'log.info("greeting', 1)
    else:
        text = text.replace(SLOWER_BY, "").replace("import time\n", "", 1)
    if extra_action:
        text = text.replace("class Plugin(PluginBase):\n", "class Plugin(PluginBase):\n" + extra_action, 1)
    code.write_text(text)
    stack.cli_json("publish", str(folder), "--key", str(key))
    until(lambda: any(v["version"] == version and v["status"] == "cleared" for v in stack.cli_json("info", name)["versions"]),
          f"{name}=={version} cleared")
    stack.cli_json("install", f"{name}=={version}")


async def _call(stack, subject: str, bodies: list[dict], expect: str) -> None:
    client = await nats.connect(stack.url, nkeys_seed=str(seed_path("client", stack.data_dir)))
    try:
        for body in bodies:
            reply = json.loads((await client.request(subject, json.dumps(body).encode(), timeout=10)).data)
            assert expect in reply, reply
    finally:
        await client.close()


def call(stack, name: str, action: str, bodies: list[dict], expect: str = "result") -> None:
    asyncio.run(_call(stack, f"plugyard.rpc.plugin.{name}.{action}", bodies, expect))


def telemetry_sql(stack, statement: str) -> list[list]:
    return stack.cli_json("telemetry", "sql", statement)["rows"]


def alerts(stack) -> dict[str, str]:
    return {a["rule"]: a["state"] for a in stack.cli_json("alerts")["alerts"]}


def test_calls_show_in_top_show_metrics_and_sql_with_the_right_counts(stack, key, tmp_path):
    publish(stack, key, tmp_path / "p", "tel-count", "0.1.0")
    stack.cli_json("load", "tel-count")
    call(stack, "tel-count", "hello", [{"name": f"n{i}"} for i in range(120)])
    call(stack, "tel-count", "hello", [{"name": " "}] * 3, expect="error")
    until(lambda: telemetry_sql(stack, "SELECT sum(calls), sum(errors) FROM action_samples WHERE name = 'tel-count'") == [[123, 3]],
          "123 calls and 3 errors in the warehouse")
    assert telemetry_sql(stack, "SELECT code, sum(errors) FROM error_samples WHERE name = 'tel-count' GROUP BY code") == [["invalid_name", 3]]

    [row] = [r for r in stack.cli_json("top", "--once")["rows"] if r["name"] == "tel-count"]
    assert row["calls"] == 123 and row["state"] == "running" and row["p50_ms"] is not None and row["rss_bytes"] > 0
    assert row["error_rate"] == pytest.approx(3 / 123, abs=1e-3)
    shown = stack.cli_json("telemetry", "show", "tel-count", "--since", "10m", "--by", "action")
    [group] = shown["groups"]
    assert group["key"] == {"action": "hello"} and group["calls"] == 123 and group["errors_by_code"] == {"invalid_name": 3}
    assert group["p50_ms"] <= group["p99_ms"]
    assert [m["event"] for m in shown["marks"]] == ["PluginLoaded"]

    url = (stack.data_dir / "metrics.url").read_text().strip()
    assert url in stack.output()  # plugyard up printed it
    metrics = urllib.request.urlopen(url, timeout=5).read().decode()
    [line] = [m for m in metrics.splitlines() if m.startswith("plugyard_plugin_calls_total{") and 'plugin="tel-count"' in m]
    assert line.endswith(" 123.0") and 'version="0.1.0"' in line and 'action="hello"' in line

    png, svg = tmp_path / "chart.png", tmp_path / "chart.svg"
    assert stack.cli("telemetry", "chart", "tel-count", "--since", "10m", "--out", str(png)).returncode == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert stack.cli("telemetry", "chart", "tel-count", "--since", "10m", "--out", str(svg)).returncode == 0
    texts = " ".join(element.text or "" for element in ElementTree.parse(svg).iter())
    assert "tel-count" in texts and "0.1.0" in texts


def test_a_slower_version_is_a_regression_and_an_alert_that_rolling_back_resolves(stack, key, tmp_path):
    folder = tmp_path / "r"
    publish(stack, key, folder, "tel-slow", "0.1.0")
    stack.cli_json("load", "tel-slow")
    call(stack, "tel-slow", "hello", [{"name": f"a{i}"} for i in range(150)])
    until(lambda: telemetry_sql(stack, "SELECT sum(calls) FROM action_samples WHERE name = 'tel-slow'") == [[150]], "0.1.0's calls in")
    publish(stack, key, folder, "tel-slow", "0.2.0", slower=True)
    stack.cli_json("reload", "tel-slow", "--version", "0.2.0")
    call(stack, "tel-slow", "hello", [{"name": f"b{i}"} for i in range(150)])

    rows = until(lambda: stack.sql("SELECT CAST(data AS VARCHAR) FROM events WHERE type = 'dev.plugyard.telemetry.RegressionDetected' "
                                   "AND data->>'name' = 'tel-slow'"), "RegressionDetected in the ledger")
    regression = json.loads(rows[0][0])
    assert (regression["version"], regression["previous_version"], regression["action"]) == ("0.2.0", "0.1.0", "hello")
    assert regression["p50_ms_after"] - regression["p50_ms_before"] > 30 and regression["latency_p_value"] < 1e-6
    until(lambda: alerts(stack).get("version-regressed") == "open", "a version-regressed alert")
    [advice] = [r for r in stack.cli_json("recommendations", "tel-slow")["recommendations"] if r["kind"] == "regressed-version"]
    assert "plugyard reload tel-slow --version 0.1.0" in advice["advice"]

    stack.cli_json("reload", "tel-slow", "--version", "0.1.0")
    call(stack, "tel-slow", "hello", [{"name": f"c{i}"} for i in range(20)])
    until(lambda: alerts(stack).get("version-regressed") == "resolved", "the alert resolved once 0.1.0 serves again")
    assert stack.sql("SELECT count(*) FROM events WHERE type = 'dev.plugyard.telemetry.AlertResolved'")[0][0] >= 1


LEAK = '''    hoard: list = []

    @action
    def grow(self, megabytes: int) -> dict:
        """Hold on to `megabytes` more, for good."""
        self.hoard.append(bytearray(megabytes * 1024 * 1024))
        return {"held_mb": len(self.hoard) * megabytes}

'''


def test_a_plugin_that_grows_without_bound_gets_a_leak_alert(stack, key, tmp_path):
    publish(stack, key, tmp_path / "l", "tel-leak", "0.1.0", extra_action=LEAK)
    stack.cli_json("load", "tel-leak")
    for _ in range(40):  # 2 MB every 0.5 s: 4 MB/s, far over the 100 kB/s rule, about 160 MB in all
        call(stack, "tel-leak", "grow", [{"megabytes": 2}])
        time.sleep(0.5)
    found = until(lambda: [a for a in stack.cli_json("alerts")["alerts"] if a["rule"] == "memory-leak" and a["name"] == "tel-leak"],
                  "a memory-leak alert", timeout=30)
    assert found[0]["value"] > 1_000_000


async def _publish_as_loader(stack, subject: str, bodies: list[bytes], pause_every: int, pause_s: float) -> None:
    seed = seed_path("loader", stack.data_dir)
    client = await nats.connect(stack.url, nkeys_seed=str(seed), inbox_prefix=read_identity(seed, "loader").inbox_prefix)
    js = client.jetstream()
    try:
        for i, body in enumerate(bodies, 1):
            await js.publish(subject, body)
            if i % pause_every == 0:
                await asyncio.sleep(pause_s)
    finally:
        await client.close()


def telemetry_pid(stack) -> int | None:
    """None while the service does not answer (status then exits 1, naming it)."""
    done = stack.cli("status", "--json")
    [service] = [s for s in json.loads(done.stdout)["services"] if s["name"] == "telemetry"]
    return (service.get("details") or {}).get("pid")


def test_killed_mid_ingestion_it_loses_no_sample_and_counts_none_twice(stack, key, tmp_path):
    publish(stack, key, tmp_path / "k", "tel-kill", "0.1.0")
    stack.cli_json("load", "tel-kill")
    host = stack.cli_json("ps")["host"]
    n = 3000
    now = datetime.now(UTC).isoformat()
    bodies = [
        json.dumps({"host": host, "name": "tel-kill", "version": "0.1.0", "pid": 4_000_000, "at": now, "cpu_percent": 1.0,
                    "rss_bytes": 1000, "open_files": 1, "threads": 1, "calls": i, "errors": 0,
                    "actions": {"synthetic": {"calls": i, "latency_buckets": [i] + [0] * 15}}}).encode()
        for i in range(1, n + 1)
    ]
    garbage = [b"not json", b"{}", b'{"host": "x"}', json.dumps({"calls": -1}).encode()]
    before = telemetry_pid(stack)
    # Samples keep arriving for about 6 s; the service is killed as soon as it has taken some of them.
    publisher = threading.Thread(target=lambda: asyncio.run(_publish_as_loader(
        stack, f"plugyard.tel.{host}.tel-kill", bodies[: n // 2] + garbage + bodies[n // 2:], pause_every=50, pause_s=0.1)))
    publisher.start()
    taken = until(lambda: telemetry_sql(stack, "SELECT count(*) FROM samples WHERE pid = 4000000")[0][0], "the first samples taken")
    os.kill(before, signal.SIGKILL)
    assert taken < n
    publisher.join()
    until(lambda: telemetry_pid(stack) not in (None, before), "the telemetry service restarted", timeout=60, every=1)
    rows = until(
        lambda: (r := telemetry_sql(stack, "SELECT count(*), sum(calls) FROM samples WHERE pid = 4000000")) and r[0][0] == n and r,
        f"all {n} samples in", timeout=120, every=1,
    )
    assert rows == [[n, n]]  # each sample once, and its one new call once
    assert telemetry_sql(stack, "SELECT sum(calls) FROM action_samples WHERE action = 'synthetic'") == [[n]]
    rejected = telemetry_sql(stack, "SELECT count(*) FROM rejections WHERE consumer = 'telemetry-samples' AND raw_excerpt IN "
                                    "('not json', '{}', '{\"host\": \"x\"}', '{\"calls\": -1}')")
    assert rejected == [[len(garbage)]]
    until(lambda: stack.cli("status").returncode == 0, "status healthy again", timeout=60)
