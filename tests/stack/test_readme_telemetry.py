"""The README's "Watching plugins run" commands, run as written and in order, against a stack serving textkit 1.3.0
with 1.2.0 installed beside it."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import nats
import pytest

from plugyard_core.bus_identities import seed_path
from tests.stack.support import PLUGYARD, start_stack

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
TEXTKIT = ROOT / "examples" / "plugins" / "textkit"
CALLS = 30


def readme_commands() -> list[str]:
    section = (ROOT / "README.md").read_text().split("### Watching plugins run", 1)[1].split("\n### ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


def publish_two_versions(stack, tmp_path: Path) -> None:
    """textkit 1.2.0 as shipped and a 1.3.0 of it, published, cleared, installed; 1.3.0 loaded."""
    key = tmp_path / "k.key"
    assert stack.cli("keys", "new", "--out", str(key), "--insecure-plain").returncode == 0
    folder = tmp_path / "textkit"
    shutil.copytree(TEXTKIT, folder)
    for version in ("1.2.0", "1.3.0"):
        manifest = folder / "plugin.toml"
        manifest.write_text(re.sub(r'(?m)^version = ".*"$', f'version = "{version}"', manifest.read_text()))
        stack.cli_json("publish", str(folder), "--key", str(key))
    deadline = time.monotonic() + 90
    while {v["status"] for v in stack.cli_json("info", "plugyard-textkit")["versions"]} != {"cleared"}:
        assert time.monotonic() < deadline, "textkit was not cleared"
        time.sleep(0.5)
    stack.cli_json("install", "plugyard-textkit==1.2.0")
    stack.cli_json("install", "plugyard-textkit==1.3.0")
    stack.cli_json("load", "plugyard-textkit", "--version", "1.3.0")


async def call_textkit(stack) -> None:
    client = await nats.connect(stack.url, nkeys_seed=str(seed_path("client", stack.data_dir)))
    try:
        for i in range(CALLS):
            reply = await client.request("plugyard.rpc.plugin.plugyard-textkit.count", json.dumps({"text": "a b " * i}).encode(), timeout=10)
            assert "result" in json.loads(reply.data)
    finally:
        await client.close()


def test_the_readme_telemetry_commands_run_as_written(tmp_path):
    (tmp_path / "stack").mkdir()
    stack = start_stack(tmp_path / "stack", env={"PLUGYARD_TELEMETRY_INTERVAL_S": "0.5", "PLUGYARD_TELEMETRY_ROLLUP_S": "1"})
    try:
        publish_two_versions(stack, tmp_path)
        asyncio.run(call_textkit(stack))
        deadline = time.monotonic() + 60
        while stack.cli_json("telemetry", "sql", "SELECT coalesce(sum(calls), 0) FROM action_samples")["rows"] != [[CALLS]]:
            assert time.monotonic() < deadline, "the calls never reached the telemetry warehouse"
            time.sleep(0.5)
        outputs = []
        wide = {**stack.env(), "COLUMNS": "200"}  # rich fits its tables to the terminal; a pipe would be 80 wide
        for command in readme_commands():
            argv = [PLUGYARD if word == ".venv/bin/plugyard" else word for word in shlex.split(command)]
            if argv[1:] == ["top"]:  # live until Ctrl-C
                live = subprocess.Popen(argv, env=wide, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                time.sleep(4)
                live.send_signal(signal.SIGINT)
                out, err = live.communicate(timeout=30)
                assert live.returncode == 0, err
            else:
                done = subprocess.run(argv, env=wide, cwd=tmp_path, capture_output=True, text=True, timeout=120)
                assert done.returncode == 0, f"{command}: {done.stderr}"
                out = done.stdout
            outputs.append(out)
        live_top, top_json, show, _chart, sql, _alerts, _advice, bench = outputs
        assert "plugyard-textkit" in live_top
        [row] = json.loads(top_json)["rows"]
        assert row["name"] == "plugyard-textkit" and row["calls"] == CALLS
        assert "p99" in show and "count" in show
        assert (tmp_path / "textkit.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
        assert re.search(rf"count\D+{CALLS}\D+0", sql), sql
        assert "1.2.0" in bench and "1.3.0" in bench and "95%" in bench
        assert stack.cli_json("ps")["plugins"][0]["version"] == "1.3.0"  # still serving
    finally:
        stack.stop()
