"""Worker side: resource limits (soft = hard, so a plugin without privileges cannot raise them again)."""

from __future__ import annotations

import _signal  # not `signal`: its enums would cost every worker's cold start an `enum` import
import resource

TYPE_CHECKING = False
if TYPE_CHECKING:
    from plugyard_sandbox.spec import Limits


def apply_rlimits(limits: Limits, subprocess: bool, *, own_user: bool = False) -> list[str]:
    """Set the limits; returns the names set. `own_user`: the worker runs as a uid of its own (see below)."""
    wanted = {
        "RLIMIT_CPU": limits.cpu_seconds,
        "RLIMIT_AS": limits.memory_bytes,
        "RLIMIT_NOFILE": limits.open_files,
        "RLIMIT_FSIZE": limits.file_size_bytes,
        "RLIMIT_CORE": 0,
    }
    # RLIMIT_NPROC counts every process and thread of the real uid (per user namespace). With a uid of its own, or
    # inside a fresh user namespace, that is the plugin alone. Without either it would count all of the host user's
    # processes, so it is only set then when the plugin may start processes (fork bombs).
    if own_user or subprocess:
        wanted["RLIMIT_NPROC"] = limits.processes
    for name, value in wanted.items():
        kind = getattr(resource, name)
        _, hard = resource.getrlimit(kind)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)  # without CAP_SYS_RESOURCE a hard limit can only go down
        resource.setrlimit(kind, (value, value))
    # Past RLIMIT_FSIZE the kernel sends SIGXFSZ, which would kill the worker; ignored, write() fails with EFBIG.
    _signal.signal(_signal.SIGXFSZ, _signal.SIG_IGN)
    return sorted(wanted)
