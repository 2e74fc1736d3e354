"""A user at the command line with a loader in the stack (`plugyard up`): install a cleared plugin, load it, invoke
it, read `ps`, unload it; and `plugyard dev` reloading a local folder on every save after showing new findings."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.stack.support import PLUGYARD, start_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = start_stack(tmp_path_factory.mktemp("loader-stack"))
    yield running
    running.stop()


def wait_cleared(stack, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while stack.cli_json("info", name)["versions"][0]["status"] != "cleared":
        assert time.monotonic() < deadline, f"{name} was not cleared"
        time.sleep(0.3)


def test_install_load_invoke_ps_unload(stack, tmp_path: Path) -> None:
    key = tmp_path / "k.key"
    assert stack.cli("keys", "new", "--out", str(key), "--insecure-plain").returncode == 0
    stack.cli_json("init", str(tmp_path / "hi"), "--name", "cli-hello")
    stack.cli_json("publish", str(tmp_path / "hi"), "--key", str(key))
    wait_cleared(stack, "cli-hello")

    installed = stack.cli_json("install", "cli-hello")
    assert [(i["name"], i["status"], i["newly_installed"]) for i in installed["installed"]] == [("cli-hello", "cleared", True)]
    loaded = stack.cli_json("load", "cli-hello")
    assert loaded["state"] == "running" and loaded["layers"]["seccomp"] == "active"
    reply = stack.cli_json("invoke", "cli-hello", "hello", "--args", '{"name": "cli"}')
    assert "cli" in json.dumps(reply["result"])

    ps = stack.cli_json("ps")
    [plugin] = ps["plugins"]
    assert (plugin["name"], plugin["calls"], plugin["errors"]) == ("cli-hello", 1, 0)
    assert all(state == "available" for state in ps["layers"].values()), ps["layers"]
    people = stack.cli("ps")
    assert people.returncode == 0 and "cli-hello" in people.stdout and "landlock" in people.stdout

    bad = stack.cli("invoke", "cli-hello", "hello", "--args", "[1]", "--json")
    assert bad.returncode == 64 and "JSON object" in json.loads(bad.stdout)["error"]["message"]
    refused = stack.cli("invoke", "cli-hello", "nope", "--json")
    assert refused.returncode == 1 and json.loads(refused.stdout)["error"]["code"] == "unknown_action"

    assert stack.cli_json("unload", "cli-hello")["state"] == "stopped"
    gone = stack.cli("invoke", "cli-hello", "hello", "--args", '{"name": "x"}', "--json")
    assert gone.returncode == 69 and "not loaded" in json.loads(gone.stdout)["error"]["message"]
    missing = stack.cli("load", "never-installed", "--json")
    assert missing.returncode == 1 and "plugyard install never-installed" in json.loads(missing.stdout)["error"]["message"]


def test_dev_reloads_on_save_and_shows_new_findings(stack, tmp_path: Path) -> None:
    folder = tmp_path / "devplug"
    stack.cli_json("init", str(folder), "--name", "dev-plug")
    process = subprocess.Popen([PLUGYARD, "dev", str(folder), "--json"], env=stack.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    lines: list[dict] = []
    reader = threading.Thread(target=lambda: [lines.append(json.loads(line)) for line in process.stdout], daemon=True)
    reader.start()

    def wait_event(event: str, count: int = 1, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [line for line in lines if line.get("event") == event]
            if len(found) >= count:
                return found[count - 1]
            assert process.poll() is None, process.stderr.read()
            time.sleep(0.1)
        raise AssertionError(f"no {event} #{count} in {lines}")

    try:
        assert wait_event("loaded")["plugin"]["dev"] is True
        before = {f["rule"] for f in wait_event("scanned")["new_findings"]}
        first = stack.cli_json("invoke", "dev-plug", "hello", "--args", '{"name": "a"}')
        source = next(folder.rglob("__init__.py"))
        text = source.read_text()
        source.write_text(text.replace("Hello", "Howdy") + "\n\ndef _risky(code):\n    return eval(code)\n")
        rescanned = wait_event("scanned", 2)
        new_rules = {f["rule"] for f in rescanned["new_findings"]}
        assert "B307" in new_rules and not new_rules & before, rescanned  # only what the save added: eval
        wait_event("reloaded")
        second = stack.cli_json("invoke", "dev-plug", "hello", "--args", '{"name": "a"}')
        assert "Howdy" in json.dumps(second["result"]) and "Howdy" not in json.dumps(first["result"])
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(30)
    assert stack.cli_json("ps")["plugins"] == [] or all(p["name"] != "dev-plug" for p in stack.cli_json("ps")["plugins"])
