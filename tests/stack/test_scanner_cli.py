"""A user at the command line with the scanner in the stack (`plugyard up`): publish a clean and a malicious
plugin, see the verdicts and the reason in `info`, `resolve` refusing the quarantined one, `rescan`, and a
registry admin's `verdict` override."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.stack.support import PLUGYARD, start_stack

STAGER = 'import base64\n\ndef boot():\n    exec(base64.b64decode("cHJpbnQoJ2hpJyk="))\n'


def new_key(path) -> str:
    done = subprocess.run([PLUGYARD, "keys", "new", "--out", str(path), "--insecure-plain", "--json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["address"]


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    return {who: (folder / f"{who}.key", new_key(folder / f"{who}.key")) for who in ("alice", "admin")}


@pytest.fixture(scope="module")
def stack(tmp_path_factory, keys):
    running = start_stack(tmp_path_factory.mktemp("scanner-stack"), env={"PLUGYARD_REGISTRY_ADMINS": keys["admin"][1]})
    yield running
    running.stop()


def wait_for_status(stack, name: str, status: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        version = stack.cli_json("info", name)["versions"][0]
        if version["status"] == status:
            return version
        assert time.monotonic() < deadline, f"{name} stayed {version['status']}: {version['status_reason']}"
        time.sleep(0.3)


def test_verdicts_reasons_rescan_and_override(stack, keys, tmp_path):
    alice_key = str(keys["alice"][0])
    stack.cli_json("init", str(tmp_path / "good"), "--name", "cli-good")
    stack.cli_json("init", str(tmp_path / "bad"), "--name", "cli-bad")
    (tmp_path / "bad" / "cli_bad" / "boot.py").write_text(STAGER)
    assert stack.cli_json("publish", str(tmp_path / "good"), "--key", alice_key)["status"] == "pending"
    stack.cli_json("publish", str(tmp_path / "bad"), "--key", alice_key)

    assert wait_for_status(stack, "cli-good", "cleared")
    bad = wait_for_status(stack, "cli-bad", "quarantined")
    assert "PY-EXEC-DECODED" in bad["status_reason"] and bad["findings"][0]["path"] == "cli_bad/boot.py"
    shown = stack.cli("info", "cli-bad")
    assert shown.returncode == 0 and "PY-EXEC-DECODED" in shown.stdout and "cli_bad/boot.py:4" in shown.stdout
    refused = stack.cli("resolve", "cli-bad", "--json")
    assert refused.returncode == 1 and "quarantined" in json.loads(refused.stdout)["error"]["message"]
    assert [p["name"] for p in stack.cli_json("resolve", "cli-good")["install_order"]] == ["cli-good"]

    rescanned = stack.cli_json("rescan", "cli-bad")
    assert [(r["name"], r["previous"], r["verdict"]) for r in rescanned] == [("cli-bad", "quarantined", "quarantined")]
    assert len(stack.cli_json("rescan", "--all")) == 2
    assert stack.cli("rescan", "cli-bad", "--all").returncode == 64

    not_admin = stack.cli("verdict", "cli-bad==0.1.0", "--clear", "--reason", "looks fine", "--key", alice_key, "--json")
    assert not_admin.returncode == 1 and json.loads(not_admin.stdout)["error"]["code"] == "refused"
    cleared = stack.cli_json("verdict", "cli-bad==0.1.0", "--clear", "--reason", "a known test fixture", "--key", str(keys["admin"][0]))
    assert cleared["status"] == "cleared" and cleared["changed"]
    overridden = wait_for_status(stack, "cli-bad", "cleared")
    assert overridden["verdict_override"] and "a known test fixture" in overridden["status_reason"]
    stack.cli_json("rescan", "cli-bad==0.1.0")  # the scanner still says quarantined; the override holds
    time.sleep(1)
    assert stack.cli_json("info", "cli-bad")["versions"][0]["status"] == "cleared"
    moves = stack.wait_for(
        "SELECT count(*) FROM events WHERE type IN ('dev.plugyard.registry.VersionQuarantined', 'dev.plugyard.registry.VersionCleared') "
        "AND subject = 'cli-bad==0.1.0'", 2,
    )
    assert moves == 2
