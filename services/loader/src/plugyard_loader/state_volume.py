"""A disk quota for each plugin's writable folder: an ext4 image of fixed size, loop-mounted on the state dir.

RLIMIT_FSIZE bounds one file; only a filesystem of its own bounds them all. The loader mounts each plugin's
image once in its own mount namespace (workers inherit it, so the old and the new worker of a reload share one
mount instead of mounting one ext4 image twice) and unmounts it when the plugin is unloaded. Needs root, the
`mount` and `mkfs.ext4` programs and loop devices; without them the plugin runs without a quota, and says so.

`PLUGYARD_PLUGIN_DISK_MB` sets the size (default 256).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger("plugyard.loader.disk")

SIZE_ENV = "PLUGYARD_PLUGIN_DISK_MB"
DEFAULT_SIZE_MB = 256
ACTIVE = "active"


def size_mb() -> int:
    raw = os.environ.get(SIZE_ENV, "").strip()
    if not raw:
        return DEFAULT_SIZE_MB
    if not raw.isdigit() or int(raw) < 8:
        raise ValueError(f"{SIZE_ENV}={raw!r} is not a size in MiB of at least 8")
    return int(raw)


def mounted_under(root: Path) -> list[str]:
    """Mount points below `root`, deepest first (from /proc/self/mounts; octal escapes as the kernel writes them)."""
    prefix = str(root.resolve()) + "/"
    found = []
    with open("/proc/self/mounts") as mounts:
        for line in mounts:
            point = line.split()[1].encode().decode("unicode_escape")
            if point.startswith(prefix):
                found.append(point)
    return sorted(found, key=len, reverse=True)


def _run(*command: str) -> str | None:
    """None when the command succeeded, else its last line of output."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if done.returncode == 0:
        return None
    return (done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}").splitlines()[-1]


class StateVolumes:
    def __init__(self, images: Path, size: int) -> None:
        self.images = images
        self.size = size
        self.mounted: dict[str, Path] = {}

    def release_stale(self, state_root: Path) -> None:
        """Unmount what a killed loader left mounted (its workers died with it)."""
        for point in mounted_under(state_root):
            problem = _run("umount", "--lazy", point)
            if problem:
                log.warning("could not unmount the stale plugin volume %s: %s", point, problem)

    def ensure(self, name: str, state_dir: Path, uid: int | None, gid: int | None) -> str:
        """Mount the plugin's volume on its state dir (once); 'active' or 'missing: <why>'."""
        if os.geteuid() != 0:
            return "missing: the loader does not run as root, so it cannot mount a volume of fixed size"
        if name in self.mounted or os.path.ismount(state_dir):
            self.mounted[name] = state_dir
            return ACTIVE
        for program in ("mount", "mkfs.ext4"):
            if shutil.which(program) is None:
                return f"missing: '{program}' is not installed"
        image = self.images / f"{name}.img"
        if not image.exists():
            problem = self._create(image, uid, gid)
            if problem:
                return f"missing: creating the volume failed: {problem}"
        state_dir.mkdir(parents=True, exist_ok=True)
        problem = _run("mount", "-o", "loop,nosuid,nodev", str(image), str(state_dir))
        if problem:
            return f"missing: mounting the volume failed: {problem}"
        self.mounted[name] = state_dir
        return ACTIVE

    def _create(self, image: Path, uid: int | None, gid: int | None) -> str | None:
        image.parent.mkdir(parents=True, exist_ok=True)
        partial = image.with_suffix(".partial")
        with open(partial, "wb") as file:
            file.truncate(self.size << 20)  # sparse: the disk is used only as the plugin writes
        owner = f"{uid if uid is not None else 0}:{gid if gid is not None else 0}"
        problem = _run("mkfs.ext4", "-q", "-F", "-m", "0", "-E", f"root_owner={owner}", str(partial))
        if problem:
            partial.unlink(missing_ok=True)
            return problem
        os.replace(partial, image)
        return None

    def release(self, name: str) -> None:
        state_dir = self.mounted.pop(name, None)
        if state_dir is not None:
            problem = _run("umount", "--lazy", str(state_dir))
            if problem:
                log.warning("could not unmount %s's volume: %s", name, problem)

    def release_all(self) -> None:
        for name in list(self.mounted):
            self.release(name)
