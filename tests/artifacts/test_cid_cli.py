"""`plugyard cid FILE [--json]`, a real process: the CID alone on stdout, or file/size/cid/blocks as JSON; a file
that cannot be read is one line naming it, exit 64 like the CLI's other input errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from plugyard_artifacts import cid_of
from plugyard_cli.output import EXIT_USAGE
from tests.artifacts.ipfs_reference import pseudo_random

PLUGYARD = str(Path(sys.executable).parent / "plugyard")


def plugyard(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PLUGYARD, *args], capture_output=True, text=True, timeout=60)


def test_prints_the_cid_or_its_description(tmp_path):
    small, large = tmp_path / "small.bin", tmp_path / "large.bin"
    small.write_bytes(b"hello")
    large.write_bytes(pseudo_random(600 * 1024))
    assert plugyard("cid", str(small)).stdout == "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq\n"
    done = plugyard("cid", str(large), "--json")
    assert done.returncode == 0 and done.stderr == ""
    assert json.loads(done.stdout) == {"file": str(large), "size": 600 * 1024, "cid": cid_of(large.read_bytes()), "blocks": 4}


@pytest.mark.parametrize("kind", ["missing", "directory", "unreadable"])
def test_a_file_it_cannot_read_is_one_line_naming_it(tmp_path, kind):
    path = tmp_path / "archive.tar.gz"
    if kind == "directory":
        path.mkdir()
    elif kind == "unreadable":
        if os.geteuid() == 0:
            pytest.skip("root reads any file")
        path.write_bytes(b"x")
        path.chmod(0)
    done = plugyard("cid", str(path))
    assert done.returncode == EXIT_USAGE
    assert done.stdout == "" and len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith(f"error: {path}: ") and "Traceback" not in done.stderr
    as_json = plugyard("cid", str(path), "--json")
    assert as_json.returncode == EXIT_USAGE
    assert json.loads(as_json.stdout)["error"]["code"] == "invalid_request"


def test_an_export_keeps_an_archive_under_either_kind_of_cid(tmp_path):
    import hashlib

    from plugyard_artifacts import cid_from_sha256
    from plugyard_cli.export_writer import holds

    path = tmp_path / "archive.tar.gz"
    data = pseudo_random(700 * 1024)
    path.write_bytes(data)
    assert holds(path, cid_of(data)) and holds(path, cid_from_sha256(hashlib.sha256(data).digest()))
    assert not holds(path, cid_of(data[:-1]))
    assert not holds(path, "not a cid") and not holds(tmp_path / "missing.tar.gz", cid_of(data))
