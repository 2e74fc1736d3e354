"""`pack`: the same content gives the same bytes and CID, whatever the times, owners, modes, creation order or umask."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import random
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugyard_artifacts import Limits, ManifestError, PackError, cid_of, pack, safe_unpack

MANIFEST = """\
[plugin]
name = "Demo_Plugin"
version = "1.0"
summary = "A plugin to pack"
entry = "demo_plugin:Plugin"
host = ">=1.0,<2"
"""

FILES = {
    "plugin.toml": MANIFEST.encode(),
    "demo_plugin/__init__.py": b"class Plugin:\n    def hello(self, name):\n        return {'greeting': f'Hello, {name}!'}\n",
    "demo_plugin/data/words.txt": "caf\u00e9\nna\u00efve\n".encode(),
    "demo_plugin/data/\u00fcber-long-name-" + "x" * 120 + ".txt": b"a long, non-ASCII name needs a PAX header\n",
    "bin/run.sh": b"#!/bin/sh\necho run\n",
    "tests/test_demo.py": b"def test_nothing():\n    pass\n",
    "README.md": b"# demo\n",
}
EXECUTABLE = {"bin/run.sh"}


def write_tree(root: Path, files: dict[str, bytes], order: list[str]) -> None:
    for name in order:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[name])
        if name in EXECUTABLE:
            path.chmod(path.stat().st_mode | 0o100)


def test_same_content_gives_the_same_bytes_however_the_tree_was_made(tmp_path: Path):
    first, second = tmp_path / "first", tmp_path / "second"
    write_tree(first, FILES, sorted(FILES))

    previous = os.umask(0o077)
    try:
        write_tree(second, FILES, sorted(FILES, reverse=True))
    finally:
        os.umask(previous)
    rng = random.Random(7)
    for path in sorted(second.rglob("*")):
        os.utime(path, (rng.randrange(10**9), rng.randrange(10**9)))
        if path.is_file() and path.name != "run.sh":
            path.chmod(path.stat().st_mode | 0o020)
        if os.geteuid() == 0:
            os.chown(path, 4321, 8765)
    assert (first / "README.md").stat().st_mode != (second / "README.md").stat().st_mode

    one = pack(first, tmp_path / "one.tar.gz")
    two = pack(second, tmp_path / "two.tar.gz")
    assert one.path.read_bytes() == two.path.read_bytes()
    assert one.cid == two.cid == cid_of(one.path.read_bytes())
    assert one.sha256 == two.sha256 == hashlib.sha256(one.path.read_bytes()).hexdigest()

    os.utime(first / "plugin.toml", (1, 1))
    assert pack(first, tmp_path / "again.tar.gz").cid == one.cid
    (first / "README.md").write_bytes(b"# demo, changed\n")
    assert pack(first, tmp_path / "changed.tar.gz").cid != one.cid


def test_the_archive_is_canonical(tmp_path: Path):
    write_tree(tmp_path / "plugin", FILES, list(FILES))
    result = pack(tmp_path / "plugin", tmp_path / "out.tar.gz")
    data = result.path.read_bytes()
    assert data[:4] == b"\x1f\x8b\x08\x00"  # gzip, deflate, no flags: no file name stored
    assert data[4:8] == b"\x00\x00\x00\x00"  # gzip header mtime
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = tar.getmembers()
    assert [member.name for member in members] == sorted(FILES)
    for member in members:
        assert member.isreg()
        assert (member.mtime, member.uid, member.gid, member.uname, member.gname) == (0, 0, 0, "", "")
        assert member.mode == (0o755 if member.name in EXECUTABLE else 0o644)
    assert result.size == len(data)
    assert (result.name, result.version) == ("demo-plugin", "1.0")
    assert result.manifest_sha256 == hashlib.sha256(FILES["plugin.toml"]).hexdigest()
    assert result.as_dict()["cid"] == result.cid and result.as_dict()["path"] == str(result.path)


def test_caches_and_dot_entries_are_left_out(tmp_path: Path):
    root = tmp_path / "plugin"
    write_tree(root, FILES, list(FILES))
    for junk in [".git/HEAD", ".venv/bin/python", ".env", ".pytest_cache/v/x", "demo_plugin/__pycache__/x.cpython-311.pyc", "demo_plugin/old.pyc"]:
        (root / junk).parent.mkdir(parents=True, exist_ok=True)
        (root / junk).write_bytes(b"junk")
    clean = tmp_path / "clean"
    write_tree(clean, FILES, list(FILES))
    assert pack(root, tmp_path / "a.tar.gz").cid == pack(clean, tmp_path / "b.tar.gz").cid


def test_symbolic_links_and_special_files_are_refused(tmp_path: Path):
    root = tmp_path / "plugin"
    write_tree(root, FILES, list(FILES))
    (root / "demo_plugin" / "link.txt").symlink_to(root / "README.md")
    with pytest.raises(PackError, match=r"demo_plugin/link\.txt: a symbolic link"):
        pack(root, tmp_path / "out.tar.gz")
    (root / "demo_plugin" / "link.txt").unlink()
    os.mkfifo(root / "pipe")
    with pytest.raises(PackError, match=r"pipe: not a regular file"):
        pack(root, tmp_path / "out.tar.gz")
    assert not (tmp_path / "out.tar.gz").exists()


def test_default_name_in_the_current_directory_or_a_given_one(tmp_path: Path, monkeypatch):
    root = tmp_path / "plugin"
    write_tree(root, FILES, list(FILES))
    monkeypatch.chdir(tmp_path)
    assert pack(root).path == tmp_path / "demo-plugin-1.0.tar.gz"
    (tmp_path / "dist").mkdir()
    assert pack(root, tmp_path / "dist").path == tmp_path / "dist" / "demo-plugin-1.0.tar.gz"
    assert pack(root, tmp_path / "new" / "x.tgz").path.is_file()


def test_packing_into_the_plugin_directory_does_not_pack_the_archive(tmp_path: Path, monkeypatch):
    root = tmp_path / "plugin"
    write_tree(root, FILES, list(FILES))
    monkeypatch.chdir(root)
    first = pack(root)
    second = pack(root)
    assert first.path == root / "demo-plugin-1.0.tar.gz"
    assert first.cid == second.cid


def test_the_manifest_is_validated_first(tmp_path: Path):
    root = tmp_path / "plugin"
    write_tree(root, {**FILES, "plugin.toml": MANIFEST.replace('"1.0"', '"one"').encode()}, list(FILES))
    with pytest.raises(ManifestError, match=r"plugin\.toml: plugin\.version: 'one' is not a PEP 440 version"):
        pack(root, tmp_path / "out.tar.gz")
    assert not (tmp_path / "out.tar.gz").exists()
    with pytest.raises(ManifestError, match="no such file"):
        pack(tmp_path, tmp_path / "out.tar.gz")
    with pytest.raises(PackError, match="not a directory"):
        pack(tmp_path / "absent")


def test_the_entry_module_must_be_in_the_plugin(tmp_path: Path):
    root = tmp_path / "plugin"
    files = {name: data for name, data in FILES.items() if not name.startswith("demo_plugin/")}
    write_tree(root, files, list(files))
    with pytest.raises(PackError, match=r"plugin\.entry: the module 'demo_plugin' is not in the plugin directory"):
        pack(root, tmp_path / "out.tar.gz")
    (root / "demo_plugin.py").write_text("class Plugin: pass\n")
    assert pack(root, tmp_path / "out.tar.gz").name == "demo-plugin"


def test_limits_apply_when_packing(tmp_path: Path):
    root = tmp_path / "plugin"
    write_tree(root, FILES, list(FILES))
    with pytest.raises(PackError, match="more than 3 files"):
        pack(root, tmp_path / "out.tar.gz", Limits(max_files=3))
    (root / "zeros.bin").write_bytes(bytes(3 * 1024 * 1024))
    with pytest.raises(PackError, match="would be refused when opened: .*compression-ratio"):
        pack(root, tmp_path / "out.tar.gz")


def test_a_pack_unpacks_to_the_same_files(tmp_path: Path):
    root = tmp_path / "plugin"
    write_tree(root, FILES, list(FILES))
    result = pack(root, tmp_path / "out.tar.gz")
    written = safe_unpack(result.path, tmp_path / "unpacked")
    assert sorted(str(path.relative_to(tmp_path / "unpacked")) for path in written) == sorted(FILES)
    for name, data in FILES.items():
        assert (tmp_path / "unpacked" / name).read_bytes() == data
    assert os.access(tmp_path / "unpacked" / "bin" / "run.sh", os.X_OK)
    assert not os.access(tmp_path / "unpacked" / "README.md", os.X_OK)


SEGMENT = st.text(alphabet=st.characters(categories=["L", "N"], include_characters="-_ "), min_size=1, max_size=12).filter(
    lambda segment: segment.strip() == segment
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    extra=st.dictionaries(st.lists(SEGMENT, min_size=1, max_size=3).map("/".join).map(lambda path: f"data/{path}"), st.binary(max_size=300), max_size=8),
    seed=st.integers(0, 10**6),
)
def test_any_tree_round_trips_and_creation_order_never_matters(tmp_path_factory, extra: dict[str, bytes], seed: int):
    names = [name for name in extra if not any(other.startswith(name + "/") for other in extra)]
    files = {**FILES, **{name: extra[name] for name in names}}
    base = tmp_path_factory.mktemp("tree")
    order = list(files)
    random.Random(seed).shuffle(order)
    write_tree(base / "a", files, sorted(files))
    write_tree(base / "b", files, order)
    one, two = pack(base / "a", base / "a.tar.gz"), pack(base / "b", base / "b.tar.gz")
    assert one.cid == two.cid
    safe_unpack(one.path, base / "out")
    assert {str(p.relative_to(base / "out")): p.read_bytes() for p in (base / "out").rglob("*") if p.is_file()} == files
    assert gzip.decompress(one.path.read_bytes())  # a complete gzip stream
