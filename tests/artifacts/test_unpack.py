"""`safe_unpack` and `read_member` against hostile archives: each refused with its rule named, nothing left behind."""

from __future__ import annotations

import gzip
import io
import re
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from plugyard_artifacts import Limits, UnsafeArchive, archive_bytes, check_archive, read_member, safe_unpack

MiB = 1024 * 1024
BOMB_SIZE = 200 * MiB


class Zeros(io.RawIOBase):
    """`size` zero bytes, produced as they are read, so a bomb is built without holding it in memory."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        self.left -= count
        return count


def entry(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", **fields) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    for field, value in fields.items():
        setattr(info, field, value)
    return info, data


def tar_gz(*entries: tuple[tarfile.TarInfo, bytes], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed, tarfile.open(fileobj=compressed, mode="w", format=fmt) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


GOOD = archive_bytes({"plugin.toml": b'[plugin]\nname = "x"\n', "pkg/__init__.py": b"", "pkg/run.sh": b"#!/bin/sh\n"}, {"pkg/run.sh": True})


@pytest.fixture
def area(tmp_path: Path) -> Path:
    """An empty directory to unpack into; each test checks it stays empty when an archive is refused."""
    path = tmp_path / "area"
    path.mkdir()
    return path


def refused(archive: bytes | Path, area: Path, rule: str, limits: Limits = Limits(), member: str | None = None) -> UnsafeArchive:
    with pytest.raises(UnsafeArchive) as caught:
        safe_unpack(archive, area / "dest", limits)
    error = caught.value
    assert error.rule == rule, str(error)
    assert f": {rule}: " in str(error)
    if member is not None:
        assert error.member == member and repr(member) in str(error)
    assert list(area.iterdir()) == [], "a refused archive must leave nothing behind"
    with pytest.raises(UnsafeArchive, match=re.escape(rule)):
        check_archive(archive, limits)
    return error


def test_a_good_archive_unpacks(area: Path):
    written = safe_unpack(GOOD, area / "dest")
    assert [path.relative_to(area / "dest").as_posix() for path in written] == ["pkg/__init__.py", "pkg/run.sh", "plugin.toml"]
    assert (area / "dest" / "pkg" / "run.sh").stat().st_mode & 0o777 == 0o755
    assert (area / "dest" / "plugin.toml").stat().st_mode & 0o777 == 0o644
    assert sorted(path.name for path in area.iterdir()) == ["dest"]


def test_directories_dot_prefixes_and_an_empty_destination_are_fine(area: Path):
    archive = tar_gz(entry("./pkg/", tarfile.DIRTYPE, mode=0o755), entry("./pkg/a.py", data=b"a = 1\n", mode=0o4755), entry("empty/", tarfile.DIRTYPE))
    (area / "dest").mkdir()
    written = safe_unpack(archive, area / "dest")
    assert written == [area / "dest" / "pkg" / "a.py"]
    assert (area / "dest" / "pkg" / "a.py").stat().st_mode & 0o7777 == 0o755  # never setuid, whatever the archive says
    assert (area / "dest" / "empty").is_dir()


def test_a_non_empty_destination_is_refused(area: Path):
    (area / "dest").mkdir()
    (area / "dest" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not an empty directory"):
        safe_unpack(GOOD, area / "dest")
    assert (area / "dest" / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("entries", "rule", "member"),
    [
        pytest.param([entry("../evil.py", data=b"x")], "path-traversal", "../evil.py", id="dotdot"),
        pytest.param([entry("pkg/../../evil.py", data=b"x")], "path-traversal", "pkg/../../evil.py", id="nested-dotdot"),
        pytest.param([entry("/etc/cron.d/evil", data=b"x")], "absolute-path", "/etc/cron.d/evil", id="absolute"),
        pytest.param([entry("C:/Windows/evil", data=b"x")], "absolute-path", "C:/Windows/evil", id="drive-letter"),
        pytest.param([entry("pkg\\..\\evil", data=b"x")], "unsafe-name", "pkg\\..\\evil", id="backslash"),
        pytest.param([entry("bad\nname", data=b"x")], "unsafe-name", "bad\nname", id="control-character"),
        pytest.param([entry("a/" * 600 + "x", data=b"x")], "unsafe-name", None, id="too-long"),
        pytest.param([entry("link", tarfile.SYMTYPE, linkname="/etc/passwd")], "link", "link", id="symlink"),
        pytest.param([entry("a.py", data=b"x"), entry("hard", tarfile.LNKTYPE, linkname="a.py")], "link", "hard", id="hardlink"),
        pytest.param([entry("null", tarfile.CHRTYPE, devmajor=1, devminor=3)], "special-file", "null", id="char-device"),
        pytest.param([entry("disk", tarfile.BLKTYPE, devmajor=8, devminor=0)], "special-file", "disk", id="block-device"),
        pytest.param([entry("pipe", tarfile.FIFOTYPE)], "special-file", "pipe", id="fifo"),
        pytest.param([entry("a.py", data=b"1"), entry("a.py", data=b"2")], "duplicate-name", "a.py", id="duplicate"),
        pytest.param([entry("a.py", data=b"1"), entry("./a.py", data=b"2")], "duplicate-name", "./a.py", id="duplicate-after-normalizing"),
        pytest.param([entry("pkg", data=b"1"), entry("pkg/a.py", data=b"2")], "duplicate-name", "pkg/a.py", id="file-then-directory"),
    ],
)
def test_hostile_members_are_refused(area: Path, entries, rule: str, member: str | None):
    refused(tar_gz(*entries), area, rule, member=member)


def test_symlink_then_write_through_it_is_refused_before_anything_is_written(area: Path):
    archive = tar_gz(entry("ok.py", data=b"fine"), entry("escape", tarfile.SYMTYPE, linkname=str(area.parent)), entry("escape/owned.txt", data=b"x"))
    refused(archive, area, "link", member="escape")
    assert not (area.parent / "owned.txt").exists()


def test_too_many_files(area: Path):
    archive = tar_gz(*(entry(f"f/{index:05}.txt", data=b"x") for index in range(5_000)))
    error = refused(archive, area, "too-many-files", member="f/02000.txt")
    assert "more than 2000 entries" in str(error)


def test_too_large_in_total_and_per_file(area: Path):
    archive = tar_gz(*(entry(f"f{index}.bin", data=bytes(range(256)) * 40) for index in range(5)))
    refused(archive, area, "too-large", Limits(max_total_size=30_000), member="f2.bin")
    refused(archive, area, "file-too-large", Limits(max_file_size=5_000), member="f0.bin")


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    """A 200 MB file of zeros, gzipped to about 200 KB, written as a stream."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.tar.gz"
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as compressed:
        with tarfile.open(fileobj=compressed, mode="w", copybufsize=MiB) as tar:
            info = tarfile.TarInfo("zeros.bin")
            info.size = BOMB_SIZE
            tar.addfile(info, Zeros(BOMB_SIZE))
    assert path.stat().st_size < MiB
    return path


def test_bomb_is_refused_on_its_declared_size(area: Path, bomb: Path):
    refused(bomb, area, "file-too-large", member="zeros.bin")


def test_bomb_is_refused_by_its_ratio_while_streaming(area: Path, bomb: Path):
    generous = Limits(max_file_size=BOMB_SIZE, max_total_size=BOMB_SIZE)
    error = refused(bomb, area, "compression-ratio", generous, member="zeros.bin")
    inflated = int(re.search(r"\((\d+) bytes from", str(error)).group(1))
    assert inflated < 16 * MiB, "the ratio must stop the stream early, not after inflating it all"


def test_zeros_hidden_after_the_end_of_the_tar_are_refused(area: Path, tmp_path: Path):
    path = tmp_path / "padded.tar.gz"
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as compressed:
        compressed.write(gzip.decompress(GOOD))
        source = Zeros(100 * MiB)
        while chunk := source.read(MiB):
            compressed.write(chunk)
    refused(path, area, "compression-ratio")


def test_a_highly_compressible_but_honest_archive_within_the_ratio_passes(area: Path):
    text = b"".join(b"line %d of a fairly repetitive log file\n" % index for index in range(60_000))
    archive = tar_gz(entry("log.txt", data=text))
    assert len(text) / len(archive) < 100
    safe_unpack(archive, area / "dest")
    assert (area / "dest" / "log.txt").read_bytes() == text


@pytest.mark.parametrize(
    ("make", "rule"),
    [
        pytest.param(lambda: b"", "not-gzip", id="empty"),
        pytest.param(lambda: b"PK\x03\x04 a zip, not a tar.gz", "not-gzip", id="zip"),
        pytest.param(lambda: gzip.decompress(GOOD), "not-gzip", id="plain-tar"),
        pytest.param(lambda: GOOD[: len(GOOD) // 2], "truncated", id="truncated"),
        pytest.param(lambda: GOOD[:-4], "truncated", id="truncated-trailer"),
        pytest.param(lambda: GOOD[:30] + bytes(b ^ 0xFF for b in GOOD[30:60]) + GOOD[60:], "corrupt", id="flipped-bytes"),
        pytest.param(lambda: GOOD + b"trailing garbage", "corrupt", id="trailing-garbage"),
        pytest.param(lambda: gzip.compress(b"this is not a tar archive at all" * 20), "corrupt", id="gzip-of-text"),
    ],
)
def test_not_gzip_or_corrupt(area: Path, make: Callable[[], bytes], rule: str):
    refused(make(), area, rule)


def test_read_member_reads_without_extracting(area: Path, tmp_path: Path):
    path = tmp_path / "good.tar.gz"
    path.write_bytes(GOOD)
    assert read_member(path, "plugin.toml") == b'[plugin]\nname = "x"\n'
    assert read_member(GOOD, "./pkg/run.sh") == b"#!/bin/sh\n"
    with pytest.raises(FileNotFoundError, match="no file 'missing.toml'"):
        read_member(GOOD, "missing.toml")
    hostile = tar_gz(entry("plugin.toml", data=b"[plugin]"), entry("../evil", data=b"x"))
    with pytest.raises(UnsafeArchive, match="path-traversal"):
        read_member(hostile, "plugin.toml")
    assert check_archive(GOOD) == ["pkg/__init__.py", "pkg/run.sh", "plugin.toml"]
    assert list(area.iterdir()) == []
