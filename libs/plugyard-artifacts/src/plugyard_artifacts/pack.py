"""`plugyard pack`: a plugin directory → a byte-for-byte reproducible `.tar.gz`, named by its content id (the CID
`ipfs add --cid-version 1 --raw-leaves` prints for it).

Only what the files say goes into the archive: their paths (sorted), their bytes and whether any execute bit
is set. Times, owners, permissions beyond that, directory order and the umask all leave no trace, so the same
content always gives the same bytes and the same CID. Caches and dot-entries (`.git`, `.venv`, `.env`, …)
are left out; a symbolic link or a special file is refused, because what it points at differs from machine
to machine. The result is checked with the same rules `safe_unpack` applies, so a pack is never refused
where it is opened.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from plugyard_artifacts.cid import cid_of
from plugyard_artifacts.manifest import MANIFEST_NAME, load_manifest
from plugyard_artifacts.unpack import Limits, UnsafeArchive, check_archive
from plugyard_schemas.manifest import PluginManifest
from plugyard_artifacts.atomic import write_atomically

_SKIPPED_DIRECTORIES = frozenset({"__pycache__"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")


class PackError(ValueError):
    """A directory that cannot be packed; the message names the file and the reason."""


@dataclass(frozen=True)
class PackResult:
    path: Path
    size: int
    sha256: str
    cid: str
    name: str
    version: str
    manifest_sha256: str

    def as_dict(self) -> dict[str, str | int]:
        return {
            "path": str(self.path),
            "size": self.size,
            "sha256": self.sha256,
            "cid": self.cid,
            "name": self.name,
            "version": self.version,
            "manifest_sha256": self.manifest_sha256,
        }


def pack(directory: str | os.PathLike[str], out: str | os.PathLike[str] | None = None, limits: Limits = Limits()) -> PackResult:
    """Pack the plugin in `directory`; `out` is the archive's path, or a directory for `<name>-<version>.tar.gz` (default: the current one)."""
    root = Path(directory)
    if not root.is_dir():
        raise PackError(f"{root}: not a directory")
    manifest = load_manifest(root / MANIFEST_NAME)
    target = _target(manifest, out)
    files = _collect(root, limits, skip=target.resolve())
    _check_entry(manifest, root, files)
    contents = {name: _read(root, name, limits) for name in files}
    data = archive_bytes(contents, {name: _executable(root / name) for name in files})
    try:
        check_archive(data, limits)
    except UnsafeArchive as error:
        raise PackError(f"{root}: the archive would be refused when opened: {error}") from None
    write_atomically(target, data)
    return PackResult(
        path=target,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        cid=cid_of(data),  # the root of the UnixFS DAG `ipfs add --cid-version 1 --raw-leaves` builds (raw CID up to 256 KiB)
        name=manifest.plugin.name,
        version=manifest.plugin.version,
        manifest_sha256=hashlib.sha256(contents[MANIFEST_NAME]).hexdigest(),
    )


def archive_bytes(contents: dict[str, bytes], executable: dict[str, bool]) -> bytes:
    """The canonical `.tar.gz` of these files: sorted, zero times, root-owned with no names, 0644/0755, gzip header time 0 and no file name."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as compressed:
        with tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8") as tar:
            for name in sorted(contents):
                info = tarfile.TarInfo(name)
                info.size = len(contents[name])
                info.mtime = 0
                info.mode = 0o755 if executable.get(name) else 0o644
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.type = tarfile.REGTYPE
                tar.addfile(info, io.BytesIO(contents[name]))
    return buffer.getvalue()


def _target(manifest: PluginManifest, out: str | os.PathLike[str] | None) -> Path:
    default_name = f"{manifest.plugin.name}-{manifest.plugin.version}.tar.gz"
    if out is None:
        return Path.cwd() / default_name
    path = Path(out)
    return path / default_name if path.is_dir() else path


def _collect(root: Path, limits: Limits, skip: Path) -> list[str]:
    """Relative POSIX paths of the files to pack, sorted; refuses links and special files."""
    found: list[str] = []
    total = 0

    def visit(directory: Path, prefix: str) -> None:
        nonlocal total
        with os.scandir(directory) as entries:
            listing = sorted(entries, key=lambda entry: entry.name)
        for entry in listing:
            relative = prefix + entry.name
            if entry.name.startswith(".") or (entry.is_dir(follow_symlinks=False) and entry.name in _SKIPPED_DIRECTORIES):
                continue
            if entry.is_symlink():
                raise PackError(f"{root / relative}: a symbolic link; copy what it points at into the plugin, or remove it")
            if entry.is_dir(follow_symlinks=False):
                visit(Path(entry.path), relative + "/")
                continue
            if not entry.is_file(follow_symlinks=False):
                raise PackError(f"{root / relative}: not a regular file (a socket, FIFO or device)")
            if entry.name.endswith(_SKIPPED_SUFFIXES) or Path(entry.path).resolve() == skip:
                continue
            try:
                relative.encode("utf-8")
            except UnicodeEncodeError:
                raise PackError(f"{root / relative!r}: the file name is not UTF-8") from None
            found.append(relative)
            total += entry.stat(follow_symlinks=False).st_size
            if len(found) > limits.max_files:
                raise PackError(f"{root}: more than {limits.max_files} files")
            if total > limits.max_total_size:
                raise PackError(f"{root}: the files add up to more than {limits.max_total_size} bytes")

    visit(root, "")
    return sorted(found)


def _check_entry(manifest: PluginManifest, root: Path, files: list[str]) -> None:
    module = manifest.plugin.entry_module.replace(".", "/")
    candidates = {f"{module}.py", f"{module}/__init__.py"}
    present = set(files)
    native = manifest.permissions.native and any(name.startswith(f"{module}.") and name.endswith(".so") for name in present)
    if not (candidates & present or native):
        raise PackError(
            f"{root / MANIFEST_NAME}: plugin.entry: the module {manifest.plugin.entry_module!r} is not in the plugin directory "
            f"(expected {module}.py or {module}/__init__.py)"
        )


def _read(root: Path, name: str, limits: Limits) -> bytes:
    path = root / name
    with open(path, "rb") as handle:
        data = handle.read(limits.max_file_size + 1)
    if len(data) > limits.max_file_size:
        raise PackError(f"{path}: larger than {limits.max_file_size} bytes, the limit for one file")
    return data


def _executable(path: Path) -> bool:
    return bool(path.stat().st_mode & 0o111)


