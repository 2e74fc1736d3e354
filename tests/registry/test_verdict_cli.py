"""`plugyard verdict` and `plugyard info` through the real CLI entry point, against a registry on a real nats-server."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from eth_account import Account

from plugyard_artifacts.keys import save_key
from plugyard_registry.admins import ADMINS_ENV
from plugyard_registry.main import build_service
from tests.in_process import start_in_process
from tests.registry.scans import cloudevent, finding, scan_data, send_scan, until_scans
from tests.registry.support import make_plugin, publish, release_of

PLUGYARD = str(Path(sys.executable).parent / "plugyard")


@pytest.fixture
def boss():
    return Account.create()


@pytest.fixture
def keys(tmp_path, boss):
    made = {"boss": tmp_path / "boss.key", "stranger": tmp_path / "stranger.key"}
    save_key(boss, made["boss"], passphrase=None, plain=True)
    save_key(Account.create(), made["stranger"], passphrase=None, plain=True)
    return made


@pytest.fixture
async def registry(nats_server, tmp_path, boss, monkeypatch):
    monkeypatch.delenv("PLUGYARD_DEV_ALLOW_PENDING", raising=False)
    monkeypatch.setenv(ADMINS_ENV, boss.address)
    running = await start_in_process(build_service(tmp_path / "data", nats_server.url))
    yield nats_server.url
    await running.close()


async def cli(nats_url: str, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        PLUGYARD, *args, env={**os.environ, "PLUGYARD_NATS_URL": nats_url, "COLUMNS": "200"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, out.decode(), err.decode()


async def test_verdict_from_the_command_line(registry, nc, tmp_path, keys, boss):
    release = release_of(make_plugin(tmp_path, "cli-judged"), tmp_path)
    await publish(nc, release, Account.create())
    code, out, err = await cli(registry, "verdict", "cli-judged==1.0.0", "--quarantine", "--reason", "exfiltrates tokens", "--key", str(keys["boss"]), "--json")
    assert code == 0, err
    assert json.loads(out) == {"name": "cli-judged", "version": "1.0.0", "status": "quarantined", "changed": True, "by": boss.address}

    code, out, err = await cli(registry, "verdict", "cli-judged==1.0.0", "--quarantine", "--reason", "again", "--key", str(keys["boss"]))
    assert code == 0 and "was already quarantined" in out, err

    code, out, err = await cli(registry, "verdict", "cli-judged==1.0.0", "--clear", "--reason", "fine", "--key", str(keys["stranger"]), "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "refused" and "not a registry admin" in err

    code, out, err = await cli(registry, "info", "cli-judged")
    assert code == 0, err
    # The confirmation changed no status, but it is on record (so that it cannot be replayed) with its reason.
    assert f"1.0.0: quarantined by registry admin {boss.address}: again" in out

    code, out, err = await cli(registry, "verdict", "cli-judged==2.0.0", "--clear", "--reason", "fine", "--key", str(keys["boss"]), "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "not_found"


@pytest.mark.parametrize("args", [
    ("cli-judged==1.0.0", "--reason", "r"),
    ("cli-judged==1.0.0", "--clear", "--quarantine", "--reason", "r"),
    ("cli-judged", "--clear", "--reason", "r"),
    ("cli-judged==1.0.0", "--clear"),
    ("cli-judged==1.0.0", "--clear", "--reason", "two\nlines"),
], ids=["no-verdict", "both-verdicts", "no-version", "no-reason", "multi-line-reason"])
async def test_verdict_usage_errors_exit_64(nats_server, keys, args):
    code, out, err = await cli(nats_server.url, "verdict", *args, "--key", str(keys["boss"]), "--json")
    assert code == 64, (out, err)
    assert json.loads(out.splitlines()[-1])["error"]["code"] == "invalid_request" and "Traceback" not in err


async def test_info_shows_the_reason_and_the_most_severe_findings(registry, nc, tmp_path):
    release = release_of(make_plugin(tmp_path, "cli-findings"), tmp_path)
    await publish(nc, release, Account.create())
    findings = [finding(rule=f"RULE-{n}", line=n, message=f"problem {n}") for n in range(1, 8)] + [finding(rule="META", path=None, line=None)]
    await send_scan(nc, cloudevent(scan_data("cli-findings", "1.0.0", release.cid, "warned", "spawns processes", findings=findings)))
    await until_scans(nc, 1)
    code, out, err = await cli(registry, "info", "cli-findings")
    assert code == 0, err
    lines = out.splitlines()
    start = lines.index("1.0.0: warned by the scanner: spawns processes")
    assert lines[start + 1].split() == ["critical", "RULE-1", "pkg/__init__.py:1", "problem", "1"]
    assert [line.split()[1] for line in lines[start + 1 : start + 6]] == [f"RULE-{n}" for n in range(1, 6)]
    assert "3 more finding(s)" in lines[start + 6]
