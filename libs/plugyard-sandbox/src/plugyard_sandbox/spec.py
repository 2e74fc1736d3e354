"""What the host asks the sandbox for, one plugin worker at a time; travels to the worker as JSON.

Stdlib only: the worker reads it inside the sandbox with nothing but the standard library on its path.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# Every layer the sandbox knows, in the order `plugyard ps` shows them.
LAYERS = ("network", "landlock", "seccomp", "rlimits", "env", "user")


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int = 600  # RLIMIT_CPU: total CPU time of the worker
    memory_bytes: int = 1 << 30  # RLIMIT_AS
    open_files: int = 256  # RLIMIT_NOFILE
    processes: int = 32  # RLIMIT_NPROC (of the dropped user; only meaningful with subprocess declared)
    file_size_bytes: int = 64 << 20  # RLIMIT_FSIZE: the largest file the plugin may write


@dataclass(frozen=True)
class PathGrant:
    path: str
    mode: str  # "read" | "write"


@dataclass(frozen=True)
class SandboxSpec:
    plugin: str
    version: str
    plugin_dir: str  # the unpacked plugin: read-only
    state_dir: str  # the plugin's own writable folder (also its HOME and TMPDIR)
    runtime_dirs: tuple[str, ...] = ()  # read + execute: the Python runtime, the staged SDK/worker/sandbox code
    library_dirs: tuple[str, ...] = ()  # read-only: required plugins' folders, the plugin's installed dependencies
    filesystem: tuple[PathGrant, ...] = ()  # declared in [permissions]
    network: tuple[str, ...] = ()  # declared "host:port"; empty = no network at all
    subprocess: bool = False
    native: bool = False
    env: dict[str, str] = field(default_factory=dict)  # the whole environment the worker gets
    limits: Limits = Limits()
    drop_uid: int | None = None  # the user to become when the host runs as root
    drop_gid: int | None = None
    egress_socket: str | None = None  # the host-side egress proxy's Unix socket (only with network declared)
    seccomp_bpf: str | None = None  # base64 of the compiled filter, built on the host
    required_layers: tuple[str, ...] = ()  # refuse to start when one of these cannot be applied

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SandboxSpec:
        data = dict(data)
        data["limits"] = Limits(**data.get("limits", {}))
        data["filesystem"] = tuple(PathGrant(**grant) for grant in data.get("filesystem", ()))
        for key in ("runtime_dirs", "library_dirs", "network", "required_layers"):
            data[key] = tuple(data.get(key, ()))
        return cls(**data)
