"""Host side: the code a worker runs, staged where the sandbox can grant it, and the Python runtime it reads.

The worker starts with `-I -S` (no site-packages), so it sees only the standard library, the staged copy of
plugyard_sdk, plugyard_worker and plugyard_sandbox, and the plugin's own folders.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import py_compile
import shutil
import sys
import sysconfig
import uuid
from pathlib import Path

RUNTIME_PACKAGES = ("plugyard_sdk", "plugyard_worker", "plugyard_sandbox")

# Started as `python -I -S -c BOOTSTRAP <sys.path dirs joined by os.pathsep> <cmd_fd> <evt_fd>` (as PYTHONPATH is
# written: json here would cost every cold start its import).
BOOTSTRAP = "import sys,os;sys.path[:0]=sys.argv[1].split(os.pathsep);from plugyard_worker.main import main;main()"


def bootstrap_path(dirs: list[str]) -> str:
    """The BOOTSTRAP argument for these sys.path dirs; ValueError for a dir that cannot be written so."""
    for directory in dirs:
        if not directory or os.pathsep in directory:
            raise ValueError(f"worker sys.path dir {directory!r} is empty or holds {os.pathsep!r}")
    return os.pathsep.join(dirs)


def _sources() -> list[tuple[str, Path]]:
    """(path relative to the runtime dir, source file) for every module of the runtime packages, sorted."""
    found = []
    for name in RUNTIME_PACKAGES:
        package_dir = Path(importlib.import_module(name).__file__).parent
        for path in package_dir.rglob("*.py"):
            if "__pycache__" not in path.parts:
                found.append((f"{name}/{path.relative_to(package_dir).as_posix()}", path))
    return sorted(found)


def stage_runtime(cache_dir: Path) -> Path:
    """Copy the runtime packages to `cache_dir/runtime/<content hash>/` (once; safe against a concurrent stager)."""
    sources = _sources()
    digest = hashlib.sha256()
    for relative, path in sources:
        data = path.read_bytes()
        digest.update(f"{relative}\0{len(data)}\0".encode())
        digest.update(data)
    root = Path(cache_dir) / "runtime"
    target = root / digest.hexdigest()[:16]
    if target.is_dir():
        return target
    root.mkdir(parents=True, exist_ok=True)
    scratch = root / f".staging-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        for relative, path in sources:
            copy = scratch / relative
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copy)
            # Compiled here because the worker cannot write into its read-only runtime dir and would recompile
            # on every start; the checked hash keeps a stale .pyc from ever being used.
            py_compile.compile(str(copy), dfile=str(target / relative), doraise=True, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
        for directory, _, files in os.walk(scratch):  # readable by the worker's dropped user
            os.chmod(directory, 0o755)
            for name in files:
                os.chmod(os.path.join(directory, name), 0o644)
        try:
            os.rename(scratch, target)
        except OSError:
            if not target.is_dir():  # anything but "another process staged it first"
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def runtime_read_dirs() -> list[str]:
    """The Python runtime a worker must be able to read: the standard library (with lib-dynload), the interpreter's dirs."""
    stdlib = sysconfig.get_path("stdlib", vars={"installed_base": sys.base_prefix, "base": sys.base_prefix})
    dirs = [stdlib, os.path.join(stdlib, "lib-dynload"), sysconfig.get_path("platstdlib", vars={"platbase": sys.base_prefix})]
    libdir = sysconfig.get_config_var("LIBDIR")
    if sysconfig.get_config_var("Py_ENABLE_SHARED") and libdir:
        dirs.append(libdir)  # libpython3.x.so
    dirs += [os.path.dirname(sys.executable), os.path.dirname(os.path.realpath(sys.executable))]
    unique: list[str] = []
    for directory in dirs:
        directory = os.path.normpath(directory)
        if os.path.isdir(directory) and directory not in unique:
            unique.append(directory)
    return unique
