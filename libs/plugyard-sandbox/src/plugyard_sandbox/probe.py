"""Host side: which sandbox layers this kernel and this host process can give a worker, tried for real.

The namespaces, seccomp and Landlock are tried in a forked child (they cannot be undone); the answer comes back
over a pipe. Never raises: a layer that cannot be probed is reported unavailable with the reason.
"""

from __future__ import annotations

import os
import select
import signal
import struct
import time
from dataclasses import dataclass

from plugyard_sandbox import landlock, namespaces
from plugyard_sandbox.seccomp_install import install_program
from plugyard_sandbox.spec import LAYERS

PROBE_TIMEOUT = 2.0
ALLOW_ALL = struct.pack("HBBI", 0x06, 0, 0, 0x7FFF0000)  # BPF_RET|BPF_K SECCOMP_RET_ALLOW


@dataclass(frozen=True)
class LayerProbe:
    available: bool
    detail: str


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, OSError) else f"{type(exc).__name__}: {exc}"


def _child(root: bool) -> dict[str, tuple[bool, str]]:
    """Runs in the forked child: every step is tried; each result is (available, detail)."""
    found: dict[str, tuple[bool, str]] = {}
    try:
        if not root:
            namespaces.enter_user_namespace()
        namespaces.isolate_network()
        namespaces.private_mounts()
        found["network"] = (True, "network and mount namespaces" + ("" if root else " (inside a user namespace)"))
    except Exception as exc:
        found["network"] = (False, f"cannot unshare the network/mount namespaces: {_describe(exc)}")
    try:
        found["seccomp"] = (True, f"filter installed via {install_program(ALLOW_ALL)}")
    except Exception as exc:
        found["seccomp"] = (False, f"cannot install a filter: {_describe(exc)}")
    try:
        landlock.restrict_self([], [], ["/"])
        found["landlock"] = (True, f"ABI {landlock.abi_version()}")
    except Exception as exc:
        found["landlock"] = (False, _describe(exc))
    return found


def _run_child(root: bool) -> dict[str, tuple[bool, str]]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then _exit whatever happens
        try:
            os.close(read_end)
            lines = [f"{name}\t{int(ok)}\t{detail}" for name, (ok, detail) in _child(root).items()]
            os.write(write_end, "\n".join(lines).replace("\0", "").encode()[:60000])
        finally:
            os._exit(0)
    os.close(write_end)
    data = b""
    deadline = time.monotonic() + PROBE_TIMEOUT
    try:
        while (left := deadline - time.monotonic()) > 0 and select.select([read_end], [], [], left)[0]:
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(read_end)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
    found = {}
    for line in data.decode(errors="replace").splitlines():
        name, ok, detail = line.split("\t", 2)
        found[name] = (ok == "1", detail)
    return found


def _user_probe(root: bool) -> LayerProbe:
    if not root:
        return LayerProbe(False, f"the host runs as uid {os.geteuid()}, not root: workers keep the host's uid")
    try:
        with open("/proc/self/uid_map") as uid_map:
            ranges = [tuple(map(int, line.split())) for line in uid_map if line.strip()]
    except (OSError, ValueError) as exc:
        return LayerProbe(False, f"cannot read /proc/self/uid_map: {exc}")
    mapped = sum(count for _, _, count in ranges)
    spans = ", ".join(f"{inside}-{inside + count - 1}" for inside, _, count in ranges)
    if mapped < 2:
        return LayerProbe(False, f"root, but only uid {spans} exists in this user namespace: no user to drop to")
    return LayerProbe(True, f"root: workers drop to a uid of their own (uids mapped here: {spans})")


def probe_layers() -> dict[str, LayerProbe]:
    root = os.geteuid() == 0
    try:
        found = _run_child(root)
        missing_reason = "the probe child reported nothing"
    except Exception as exc:
        found, missing_reason = {}, f"the probe failed: {_describe(exc)}"
    probes = {name: LayerProbe(*found[name]) if name in found else LayerProbe(False, missing_reason)
              for name in ("network", "landlock", "seccomp")}
    probes["rlimits"] = LayerProbe(True, "setrlimit")
    probes["env"] = LayerProbe(True, "the host passes only the spec's variables")
    probes["user"] = _user_probe(root)
    return {name: probes[name] for name in LAYERS}
