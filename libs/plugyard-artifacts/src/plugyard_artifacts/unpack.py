"""Reading plugin archives that may be hostile: every `.tar.gz` Plugyard opens goes through here.

The archive is streamed once: gzip is inflated here (so the compressed and inflated byte counts are known
at every step), tar headers are judged before any of a member's data is read, and the compression ratio and
the total inflated size are checked as the bytes come, so a bomb is stopped long before it fills memory or
disk. Only regular files and directories are accepted. Extraction goes to a fresh directory beside the
destination, which is renamed into place only when every member has been accepted: a refused archive
leaves nothing behind.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, NoReturn

MiB = 1024 * 1024
_CHUNK = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
# Per member, a tar stream carries a header block, perhaps a PAX header (a block plus its records) and up to a
# block of padding: this much beside the members' own bytes is allowed for it.
_TAR_OVERHEAD_PER_MEMBER = 4096
_TAR_OVERHEAD = MiB
_DRIVE = re.compile(r"[A-Za-z]:(/|$)")


@dataclass(frozen=True)
class Limits:
    max_files: int = 2_000
    max_total_size: int = 50 * MiB
    max_file_size: int = 25 * MiB
    max_ratio: float = 100.0
    # A small archive is mostly tar padding (zeros), which alone inflates far beyond any sane ratio; the ratio is
    # judged only once this much has come out, where it tells a bomb from a plugin.
    ratio_grace: int = MiB
    max_path_length: int = 1024

    @property
    def max_stream_size(self) -> int:
        return self.max_total_size + self.max_files * _TAR_OVERHEAD_PER_MEMBER + _TAR_OVERHEAD


class UnsafeArchive(ValueError):
    """An archive refused by one of the rules; `rule` is a short code and `member` the entry's name, when one is to blame."""

    def __init__(self, rule: str, detail: str, member: str | None = None) -> None:
        self.rule = rule
        self.detail = detail
        self.member = member
        where = f"member {member!r}: " if member is not None else ""
        super().__init__(f"unsafe archive: {where}{rule}: {detail}")


Archive = str | os.PathLike[str] | bytes


def safe_unpack(archive: Archive, dest: str | os.PathLike[str], limits: Limits = Limits()) -> list[Path]:
    """Extract `archive` to `dest` (which must not exist, or be an empty directory); the files written, in archive order."""
    dest = Path(dest)
    if dest.is_symlink() or (dest.exists() and (not dest.is_dir() or any(dest.iterdir()))):
        raise FileExistsError(f"{dest}: exists and is not an empty directory")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.unpacking-", dir=dest.parent))
    written: list[str] = []

    def write(name: str, info: tarfile.TarInfo, data: IO[bytes] | None) -> None:
        target = staging / name
        if data is None:
            target.mkdir(parents=True, exist_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        mode = 0o755 if info.mode & 0o111 else 0o644
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
        with os.fdopen(descriptor, "wb") as out:
            shutil.copyfileobj(data, out, _CHUNK)
        written.append(name)

    try:
        _scan(archive, limits, write)
        staging.chmod(0o755)
        os.rename(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [dest / name for name in written]


def read_member(archive: Archive, name: str, limits: Limits = Limits()) -> bytes:
    """One file's bytes, without extracting anything; the whole archive is still checked against every rule."""
    wanted = "/".join(part for part in name.split("/") if part not in ("", "."))
    found: list[bytes] = []

    def keep(member: str, _info: tarfile.TarInfo, data: IO[bytes] | None) -> None:
        if data is not None and member == wanted:
            found.append(data.read())
        elif data is not None:
            _drain(data)

    _scan(archive, limits, keep)
    if not found:
        raise FileNotFoundError(f"no file {name!r} in the archive")
    return found[0]


def check_archive(archive: Archive, limits: Limits = Limits()) -> list[str]:
    """Check every rule without writing anything; the archive's file names, in archive order."""
    names: list[str] = []

    def note(member: str, _info: tarfile.TarInfo, data: IO[bytes] | None) -> None:
        if data is not None:
            _drain(data)
            names.append(member)

    _scan(archive, limits, note)
    return names


def _drain(data: IO[bytes]) -> None:
    while data.read(_CHUNK):
        pass


Visitor = Callable[[str, tarfile.TarInfo, "IO[bytes] | None"], None]


def _scan(archive: Archive, limits: Limits, visit: Visitor) -> None:
    """Stream through the archive, handing each accepted member to `visit` as (normalized name, header, data or None for a directory).

    `visit` reads a member's data inside this function, so whatever goes wrong while reading it is judged here too.
    """
    with _open(archive) as raw:
        if raw.read(2) != _GZIP_MAGIC:
            raise UnsafeArchive("not-gzip", "not a gzip file")
        raw.seek(0)
        inflater = _Inflater(raw, limits)
        rules = _MemberRules(limits)
        try:
            with tarfile.open(fileobj=io.BufferedReader(inflater, _CHUNK), mode="r|", encoding="utf-8") as tar:
                for info in tar:
                    inflater.member = info.name
                    name = rules.accept(info)
                    visit(name, info, None if info.isdir() else tar.extractfile(info))
            inflater.member = None
            inflater.finish()
        except UnsafeArchive:
            raise
        except (tarfile.TarError, EOFError, zlib.error, ValueError) as error:
            if inflater.failure is not None:
                raise inflater.failure from None
            raise UnsafeArchive("corrupt", f"not a readable tar.gz ({error or type(error).__name__})", inflater.member) from None


def _open(archive: Archive) -> BinaryIO:
    if isinstance(archive, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(archive))
    try:
        return open(archive, "rb")
    except IsADirectoryError:
        raise UnsafeArchive("not-gzip", f"{archive}: is a directory, not an archive") from None


class _MemberRules:
    """The per-member rules, judged on the header before any data is read."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.count = 0
        self.total = 0
        self.files: set[str] = set()
        self.directories: set[str] = set()

    def accept(self, info: tarfile.TarInfo) -> str:
        raw = info.name
        self.count += 1
        if self.count > self.limits.max_files:
            raise UnsafeArchive("too-many-files", f"more than {self.limits.max_files} entries", raw)
        name = self._name(raw)
        if info.issym() or info.islnk():
            kind = "symbolic" if info.issym() else "hard"
            raise UnsafeArchive("link", f"a {kind} link (to {info.linkname!r}); archives hold only files and directories", raw)
        if info.ischr() or info.isblk() or info.isfifo():
            raise UnsafeArchive("special-file", "a device or FIFO; archives hold only files and directories", raw)
        if info.isdir():
            if name in self.files:
                raise UnsafeArchive("duplicate-name", "already a file in this archive", raw)
            self._add_parents(name, raw)
            self.directories.add(name)
            return name
        if not info.isreg() or info.issparse():
            raise UnsafeArchive("special-file", f"tar entry type {info.type!r} is not a plain file or directory", raw)
        if name in self.files or name in self.directories:
            raise UnsafeArchive("duplicate-name", "appears twice in this archive", raw)
        if info.size > self.limits.max_file_size:
            raise UnsafeArchive("file-too-large", f"{info.size} bytes, over the {self.limits.max_file_size}-byte limit for one file", raw)
        self.total += info.size
        if self.total > self.limits.max_total_size:
            raise UnsafeArchive("too-large", f"the files add up to more than {self.limits.max_total_size} bytes", raw)
        self._add_parents(name, raw)
        self.files.add(name)
        return name

    def _name(self, raw: str) -> str:
        if raw.startswith("/") or _DRIVE.match(raw):
            raise UnsafeArchive("absolute-path", "an absolute path", raw)
        parts = [part for part in raw.split("/") if part not in ("", ".")]
        if ".." in parts:
            raise UnsafeArchive("path-traversal", "'..' leads outside the destination", raw)
        if not parts:
            raise UnsafeArchive("unsafe-name", "names no file", raw)
        if any(not character.isprintable() or character == "\\" or "\udc80" <= character <= "\udcff" for character in raw):
            raise UnsafeArchive("unsafe-name", "control characters, backslashes or bytes that are not UTF-8", raw)
        name = "/".join(parts)
        if len(name) > self.limits.max_path_length or any(len(part.encode()) > 255 for part in parts):
            raise UnsafeArchive("unsafe-name", f"longer than {self.limits.max_path_length} characters, or a part over 255 bytes", raw)
        return name

    def _add_parents(self, name: str, raw: str) -> None:
        parts = name.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in self.files:
                raise UnsafeArchive("duplicate-name", f"{parent!r} is a file in this archive, so cannot be a directory", raw)
            self.directories.add(parent)


class _Inflater(io.RawIOBase):
    """gzip → tar bytes, counting both sides and refusing a bomb while it inflates.

    A refusal is sticky: once one is raised, every later read raises it again, so no caller in between
    (tarfile catches some errors itself) can carry on past it.
    """

    def __init__(self, raw: BinaryIO, limits: Limits) -> None:
        self._raw = raw
        self._limits = limits
        self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._pending = b""
        self._offset = 0
        self.compressed = 0
        self.inflated = 0
        self.member: str | None = None
        self.failure: UnsafeArchive | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.failure is not None:
            raise self.failure
        while self._offset >= len(self._pending):
            if self._zlib.eof:
                return 0
            self._inflate_more()
        count = min(len(buffer), len(self._pending) - self._offset)
        buffer[:count] = self._pending[self._offset : self._offset + count]
        self._offset += count
        return count

    def finish(self) -> None:
        """Read to the end of the gzip stream: its trailer (CRC and length) is checked, and nothing may follow it."""
        while self.read(_CHUNK):
            pass
        if self._zlib.unused_data or self._raw.read(1):
            self._fail("corrupt", "data after the end of the gzip stream")

    def _inflate_more(self) -> None:
        data = self._zlib.unconsumed_tail
        if not data:
            data = self._raw.read(_CHUNK)
            if not data:
                self._fail("truncated", "the gzip stream ends before its end marker")
            self.compressed += len(data)
        try:
            self._pending = self._zlib.decompress(data, _CHUNK)
        except zlib.error as error:
            self._fail("corrupt", f"bad gzip data ({error})")
        self._offset = 0
        self.inflated += len(self._pending)
        if self.inflated > self._limits.max_stream_size:
            self._fail("too-large", f"inflates to more than {self._limits.max_stream_size} bytes")
        if self.inflated > self._limits.ratio_grace and self.inflated > self._limits.max_ratio * self.compressed:
            self._fail("compression-ratio", f"inflates more than {self._limits.max_ratio:g}:1 ({self.inflated} bytes from {self.compressed})")

    def _fail(self, rule: str, detail: str) -> NoReturn:
        self.failure = UnsafeArchive(rule, detail, self.member)
        raise self.failure
