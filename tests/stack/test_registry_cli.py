"""An author and a user at the command line: keys, init, pack, publish, search, info, resolve, yank, deprecate."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.stack.support import start_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = start_stack(tmp_path_factory.mktemp("registry-stack"), env={"PLUGYARD_DEV_ALLOW_PENDING": "1"})
    yield running
    running.stop()


@pytest.fixture(scope="module")
def keys(stack, tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    made = {}
    for who in ("alice", "mallory"):
        made[who] = folder / f"{who}.key"
        made[who + "_address"] = stack.cli_json("keys", "new", "--out", str(made[who]), "--insecure-plain")["address"]
    return made


def test_init_pack_is_reproducible(stack, tmp_path):
    stack.cli_json("init", str(tmp_path / "p"), "--name", "Repro_Kit")
    first = stack.cli_json("pack", str(tmp_path / "p"), "--out", str(tmp_path / "a.tar.gz"))
    for path in (tmp_path / "p").rglob("*"):
        os.utime(path, (1, 1))
        path.chmod(path.stat().st_mode | 0o020)
    second = stack.cli_json("pack", str(tmp_path / "p"), "--out", str(tmp_path / "b.tar.gz"))
    assert first["cid"] == second["cid"] and first["cid"].startswith("bafk")
    assert (tmp_path / "a.tar.gz").read_bytes() == (tmp_path / "b.tar.gz").read_bytes()
    assert first["name"] == "repro-kit" and first["size"] > 0 and len(first["sha256"]) == 64


def test_publish_search_info_resolve_yank(stack, keys, tmp_path):
    stack.cli_json("init", str(tmp_path / "base"), "--name", "cli-textkit")
    stack.cli_json("init", str(tmp_path / "app"), "--name", "cli-summarizer")
    manifest = tmp_path / "app" / "plugin.toml"
    manifest.write_text(manifest.read_text().replace("requires = []", 'requires = ["cli-textkit>=0.1"]')
                        .replace('summary = ', 'summary = "Summarizes long documents" #', 1))
    published = stack.cli_json("publish", str(tmp_path / "base"), "--key", str(keys["alice"]))
    assert published["created"] and published["status"] == "pending" and published["owners"] == [keys["alice_address"]]
    assert stack.cli_json("publish", str(tmp_path / "base"), "--key", str(keys["alice"]))["created"] is False
    stack.cli_json("publish", str(tmp_path / "app"), "--key", str(keys["alice"]))
    foreign = stack.cli("publish", str(tmp_path / "base"), "--key", str(keys["mallory"]), "--json")
    assert foreign.returncode == 1 and json.loads(foreign.stdout)["error"]["code"] == "refused"

    found = stack.cli_json("search", "sumarizer")
    assert found["hits"][0]["name"] == "cli-summarizer"
    described = stack.cli_json("info", "cli-textkit")
    assert described["latest"] == "0.1.0" and described["versions"][0]["cid"] == published["cid"]
    order = [p["name"] for p in stack.cli_json("resolve", "cli-summarizer")["install_order"]]
    assert order == ["cli-textkit", "cli-summarizer"]

    yank = stack.cli_json("yank", "cli-textkit==0.1.0", "--reason", "broken", "--key", str(keys["alice"]))
    assert yank["changed"] is True
    refused = stack.cli("resolve", "cli-summarizer", "--json")
    assert refused.returncode == 1 and "cli-textkit" in refused.stderr
    pinned = stack.cli_json("resolve", "cli-summarizer", "cli-textkit==0.1.0")
    assert pinned["install_order"][0]["yanked"] is True

    deprecated = stack.cli_json("deprecate", "cli-textkit", "--successor", "cli-summarizer", "--key", str(keys["alice"]))
    assert deprecated["changed"] is True
    assert stack.cli_json("info", "cli-textkit")["successor"] == "cli-summarizer"


def test_bad_input_is_one_clear_line(stack, keys, tmp_path):
    broken = tmp_path / "broken"
    stack.cli_json("init", str(broken), "--name", "broken-one")
    (broken / "plugin.toml").write_text((broken / "plugin.toml").read_text().replace('version = "0.1.0"', 'version = "one"'))
    done = stack.cli("publish", str(broken), "--key", str(keys["alice"]))
    assert done.returncode == 64 and "plugin.version" in done.stderr and "Traceback" not in done.stderr
    assert stack.cli("info", "no-such-plugin").returncode == 1
    bad_pin = stack.cli("yank", "nopin", "--reason", "x", "--key", str(keys["alice"]))
    assert bad_pin.returncode == 64 and "NAME==VERSION" in bad_pin.stderr
    stack.cli_json("init", str(tmp_path / "valid"), "--name", "valid-one")
    missing_key = stack.cli("publish", str(tmp_path / "valid"), "--key", str(tmp_path / "nokey"))
    assert missing_key.returncode == 64 and "nokey" in missing_key.stderr and "Traceback" not in missing_key.stderr
    not_empty = stack.cli("init", str(broken), "--name", "again")
    assert not_empty.returncode == 64
    shutil.rmtree(broken)
