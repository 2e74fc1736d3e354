"""From a plugin's manifest to the sandbox its worker gets: paths, permissions, environment, limits, user.

Policy settings (environment of the loader):
- `PLUGYARD_SANDBOX_REQUIRE`: comma-separated layers a worker must have, or `all`; a worker that cannot get
  one is refused instead of run with a loud warning.
- A variable a plugin declares in `[permissions].env` gets the loader's own value of it; no other variable
  reaches the worker.
"""

from __future__ import annotations

import logging
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import Version

from plugyard_loader.cache import PluginCache
from plugyard_sandbox.spec import LAYERS, Limits, PathGrant, SandboxSpec

log = logging.getLogger("plugyard.loader.sandbox")

REQUIRE_ENV = "PLUGYARD_SANDBOX_REQUIRE"
# Each plugin runs as its own user when the host is root, so that process limits and file ownership are per plugin.
DROP_UID_BASE = 200_000
DROP_UID_SPAN = 100_000


class PlanError(ValueError):
    """The plugin cannot be planned: a required plugin is not installed, or a policy setting is wrong."""


@dataclass(frozen=True)
class WorkerPlan:
    spec: SandboxSpec
    entry: str
    library_paths: list[str]


def required_layers(environ: dict[str, str] | None = None) -> tuple[str, ...]:
    raw = (environ if environ is not None else os.environ).get(REQUIRE_ENV, "").strip()
    if not raw:
        return ()
    if raw == "all":
        return LAYERS
    names = tuple(part.strip() for part in raw.split(",") if part.strip())
    unknown = [name for name in names if name not in LAYERS]
    if unknown:
        raise PlanError(f"{REQUIRE_ENV} names unknown layers {', '.join(unknown)}; the layers are {', '.join(LAYERS)} (or 'all')")
    return names


def drop_ids(name: str) -> tuple[int | None, int | None]:
    if os.geteuid() != 0:
        return None, None
    uid = DROP_UID_BASE + zlib.crc32(name.encode()) % DROP_UID_SPAN
    return uid, uid


def own_state_dir(state: Path, uid: int | None, gid: int | None) -> None:
    if uid is None or gid is None:
        return
    for path in (state, state / "tmp"):
        if path.stat().st_uid != uid:
            os.chown(path, uid, gid)


def required_library_dirs(cache: PluginCache, requires: list[str]) -> list[Path]:
    """A required plugin is a library of its dependent: the newest installed version that fits, read-only."""
    dirs: list[Path] = []
    for text in requires:
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            raise PlanError(f"bad requirement {text!r}: {exc}") from None
        name = requirement.name
        fitting = [v for v in cache.versions(name) if Version(v) in requirement.specifier]
        if not fitting:
            raise PlanError(f"requires {text}, which is not installed here: run 'plugyard install {name}'")
        cached = cache.get(name, fitting[-1])
        assert cached is not None
        dirs += [cached.files, cached.deps]
    return dirs


def plan_worker(
    cache: PluginCache, *, name: str, version: str, plugin_dir: Path, deps_dir: Path | None, manifest: dict[str, Any],
    runtime_dirs: list[str], seccomp_bpf: str | None, egress_socket: str | None,
) -> WorkerPlan:
    plugin = manifest.get("plugin", {})
    permissions = manifest.get("permissions", {})
    state = cache.state_dir(name)
    uid, gid = drop_ids(name)
    own_state_dir(state, uid, gid)
    library = [d for d in [deps_dir, *required_library_dirs(cache, list(plugin.get("requires") or []))] if d is not None]
    env = {key: os.environ[key] for key in permissions.get("env") or [] if key in os.environ}
    # MALLOC_ARENA_MAX: glibc reserves 64 MiB of address space per thread arena, which RLIMIT_AS would count.
    env.update(HOME=str(state), TMPDIR=str(state / "tmp"), LANG="C.UTF-8", PYTHONDONTWRITEBYTECODE="1", MALLOC_ARENA_MAX="2")
    network = tuple(permissions.get("network") or ())
    spec = SandboxSpec(
        plugin=name, version=version, plugin_dir=str(plugin_dir), state_dir=str(state), runtime_dirs=tuple(runtime_dirs),
        library_dirs=tuple(str(d) for d in library),
        filesystem=tuple(PathGrant(path=g["path"], mode=g["mode"]) for g in permissions.get("filesystem") or []),
        network=network, subprocess=bool(permissions.get("subprocess")), native=bool(permissions.get("native")), env=env,
        limits=Limits(), drop_uid=uid, drop_gid=gid, egress_socket=egress_socket if network else None,
        seccomp_bpf=seccomp_bpf, required_layers=required_layers(),
    )
    return WorkerPlan(spec=spec, entry=str(plugin.get("entry") or ""), library_paths=[str(plugin_dir), *spec.library_dirs])
