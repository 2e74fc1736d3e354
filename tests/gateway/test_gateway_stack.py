"""The gateway in a stack as a user runs it: `plugyard up` starts it on a free port, writes <data-dir>/gateway.url and
says where; `plugyard status` reports it; a plugin published with `plugyard publish` (over 256 KiB: a UnixFS DAG) is
served at /ipfs/<its CID> and fetched by @helia/verified-fetch, and `plugyard market car` writes the gateway's CAR;
SIGTERM stops it and removes the URL file."""

from __future__ import annotations

import hashlib
import json
import os
import urllib.request

import pytest

from plugyard_artifacts import unixfs
from plugyard_core.services import SERVICES
from tests.artifacts.test_ipfs_archive_flow import large_plugin
from tests.gateway.reference import read_car, verified_fetch
from tests.stack.support import start_stack

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = start_stack(tmp_path_factory.mktemp("stack"))
    yield running
    running.stop()


def get(url: str, fmt: str) -> bytes:
    with urllib.request.urlopen(urllib.request.Request(f"{url}?format={fmt}"), timeout=60) as response:
        assert response.status == 200
        return response.read()


def test_up_runs_the_gateway_and_status_reports_it(stack):
    url = (stack.data_dir / "gateway.url").read_text().strip()
    assert url.startswith("http://127.0.0.1:")
    assert f"IPFS trustless gateway at {url}/ipfs/<cid>" in stack.output().replace("\n", "")
    status = stack.cli_json("status")
    assert status["healthy"] is True
    assert [s["name"] for s in status["services"]] == list(SERVICES)  # the gateway is reported beside them
    assert status["gateway"]["name"] == "gateway" and status["gateway"]["healthy"] is True
    assert status["gateway"]["details"]["url"] == url
    assert "gateway" in stack.cli("status").stdout
    assert get(f"{url}/ipfs/bafkqaaa", "raw") == b""


def test_a_published_archive_is_served_fetched_and_exported_as_the_same_car(stack, tmp_path):
    key = tmp_path / "alice.key"
    stack.cli_json("keys", "new", "--out", str(key), "--insecure-plain")
    source = large_plugin(tmp_path / "src", "gateway-kit")
    published = stack.cli_json("publish", str(source), "--key", str(key))
    cid = published["cid"]
    assert cid.startswith("bafy")
    archive = stack.cli_json("pack", str(source), "--out", str(tmp_path / "kit.tar.gz"))
    data = (tmp_path / "kit.tar.gz").read_bytes()
    assert archive["cid"] == cid

    url = (stack.data_dir / "gateway.url").read_text().strip()
    served = get(f"{url}/ipfs/{cid}", "car")
    assert get(f"{url}/ipfs/{cid}", "raw") == next(unixfs.iter_blocks(data))[1]
    out = tmp_path / "kit.car"
    written = stack.cli_json("market", "car", f"gateway-kit=={published['version']}", "--out", str(out))
    assert written["cid"] == cid and out.read_bytes() == served
    assert read_car(out, cid, tmp_path / "file")["sha256"] == hashlib.sha256(data).hexdigest()
    fetched = verified_fetch(url, cid)
    assert (fetched["status"], fetched["sha256"]) == (200, hashlib.sha256(data).hexdigest())


def test_sigterm_removes_the_gateway_url(tmp_path):
    stack = start_stack(tmp_path)
    gateway_pid = stack.cli_json("status")["gateway"]["details"]["pid"]
    assert stack.stop() == 0
    assert not (stack.data_dir / "gateway.url").exists()
    with pytest.raises(ProcessLookupError):
        os.kill(gateway_pid, 0)
    assert json.loads(stack.cli("status", "--json").stdout)["nats_ok"] is False
