"""The README's "Selling plugins" commands, run as written and in order, against a stack (with its local chain)
where publisher.key published textkit."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.stack.support import PLUGYARD, start_stack

pytestmark = [
    pytest.mark.stack,
    pytest.mark.skipif(not (Path(sys.prefix) / "anvil" / "node_modules" / ".bin" / "anvil").exists(),
                       reason="anvil is not installed (make setup installs it when npm exists): the stack runs no marketplace"),
]

ROOT = Path(__file__).resolve().parents[2]
TEXTKIT = ROOT / "examples" / "plugins" / "textkit"


def readme_commands() -> list[str]:
    section = (ROOT / "README.md").read_text().split("### Selling plugins", 1)[1].split("\n### ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


def test_the_readme_marketplace_commands_run_as_written(tmp_path):
    (tmp_path / "stack").mkdir()
    stack = start_stack(tmp_path / "stack")
    try:
        assert stack.cli("keys", "new", "--out", str(tmp_path / "publisher.key"), "--insecure-plain").returncode == 0
        stack.cli_json("publish", str(TEXTKIT), "--key", str(tmp_path / "publisher.key"))
        deadline = time.monotonic() + 90
        while {v["status"] for v in stack.cli_json("info", "plugyard-textkit")["versions"]} != {"cleared"}:
            assert time.monotonic() < deadline, "textkit was not cleared"
            time.sleep(0.5)
        stranger = tmp_path / "stranger.key"
        assert stack.cli("keys", "new", "--out", str(stranger), "--insecure-plain").returncode == 0
        outputs = []
        wide = {**stack.env(), "COLUMNS": "200"}
        for command in readme_commands():
            argv = [PLUGYARD if word == ".venv/bin/plugyard" else word for word in shlex.split(command)]
            if argv[1:3] == ["install", "plugyard-textkit"]:  # first: without a purchase it is refused
                refused = subprocess.run([*argv[:-1], str(stranger)], env=wide, cwd=tmp_path, capture_output=True, text=True, timeout=120)
                assert refused.returncode != 0 and "market buy" in refused.stderr, refused.stderr
            done = subprocess.run(argv, env=wide, cwd=tmp_path, capture_output=True, text=True, timeout=180)
            assert done.returncode == 0, f"{command}: {done.stderr}"
            outputs.append(done.stdout)
        _new, _fund1, _fund2, listed, show, bought, installed, reviewed, reputation, withdrew = outputs
        assert "listed plugyard-textkit" in listed
        assert "0.01 ETH" in show and "baf" in show
        assert "entitled" in bought
        assert "withdrew" in withdrew
        shown = stack.cli_json("market", "show", "plugyard-textkit")
        assert [r["stars"] for r in shown["reviews"]] == [5] and shown["reviews"][0]["verified_by"] == "purchase"
        assert "reviews" in reputation
        assert json.loads(subprocess.run([PLUGYARD, "market", "reputation", "plugyard-textkit", "--json"], env=wide, capture_output=True,
                                         text=True, timeout=60).stdout)["plugin"]["score"] > 0
    finally:
        stack.stop()
