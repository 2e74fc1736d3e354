"""What the host asks the sandbox for, one plugin worker at a time; travels to the worker as JSON.

Stdlib only: the worker reads it inside the sandbox with nothing but the standard library on its path. Plain
slotted classes rather than dataclasses: importing `dataclasses` (and the inspect/ast/re it pulls in) would cost
every worker's cold start several milliseconds.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Every layer the sandbox knows, in the order `plugyard ps` shows them.
LAYERS = ("network", "landlock", "seccomp", "rlimits", "env", "user")


class _Record:
    """A frozen value: its fields are its __slots__, compared, hashed and shown in that order."""

    __slots__ = ()

    def _set_fields(self, values: dict[str, Any]) -> None:
        for name in self.__slots__:
            object.__setattr__(self, name, values[name])

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{name}={getattr(self, name)!r}' for name in self.__slots__)})"

    def __reduce__(self) -> tuple[Any, ...]:  # __setattr__ refuses what pickle's default would do
        return (_rebuild, (type(self), {name: getattr(self, name) for name in self.__slots__}))


def _rebuild(cls: type, fields: dict[str, Any]) -> Any:
    return cls(**fields)


class Limits(_Record):
    __slots__ = ("cpu_seconds", "memory_bytes", "open_files", "processes", "file_size_bytes")
    cpu_seconds: int  # RLIMIT_CPU: total CPU time of the worker
    memory_bytes: int  # RLIMIT_AS
    open_files: int  # RLIMIT_NOFILE
    processes: int  # RLIMIT_NPROC (of the dropped user; only meaningful with subprocess declared)
    file_size_bytes: int  # RLIMIT_FSIZE: the largest file the plugin may write

    def __init__(self, cpu_seconds: int = 600, memory_bytes: int = 1 << 30, open_files: int = 256, processes: int = 32,
                 file_size_bytes: int = 64 << 20) -> None:
        self._set_fields(locals())

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


class PathGrant(_Record):
    __slots__ = ("path", "mode")
    path: str
    mode: str  # "read" | "write"

    def __init__(self, path: str, mode: str) -> None:
        self._set_fields(locals())

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "mode": self.mode}


class SandboxSpec(_Record):
    __slots__ = (
        "plugin", "version", "plugin_dir", "state_dir", "runtime_dirs", "library_dirs", "filesystem", "network",
        "subprocess", "native", "env", "limits", "drop_uid", "drop_gid", "egress_socket", "seccomp_bpf", "required_layers",
    )
    plugin: str
    version: str
    plugin_dir: str  # the unpacked plugin: read-only
    state_dir: str  # the plugin's own writable folder (also its HOME and TMPDIR)
    runtime_dirs: tuple[str, ...]  # read + execute: the Python runtime, the staged SDK/worker/sandbox code
    library_dirs: tuple[str, ...]  # read-only: required plugins' folders, the plugin's installed dependencies
    filesystem: tuple[PathGrant, ...]  # declared in [permissions]
    network: tuple[str, ...]  # declared "host:port"; empty = no network at all
    subprocess: bool
    native: bool
    env: dict[str, str]  # the whole environment the worker gets
    limits: Limits
    drop_uid: int | None  # the user to become when the host runs as root
    drop_gid: int | None
    egress_socket: str | None  # the host-side egress proxy's Unix socket (only with network declared)
    seccomp_bpf: str | None  # base64 of the compiled filter, built on the host
    required_layers: tuple[str, ...]  # refuse to start when one of these cannot be applied

    def __init__(
        self, plugin: str, version: str, plugin_dir: str, state_dir: str, runtime_dirs: tuple[str, ...] = (),
        library_dirs: tuple[str, ...] = (), filesystem: tuple[PathGrant, ...] = (), network: tuple[str, ...] = (),
        subprocess: bool = False, native: bool = False, env: dict[str, str] | None = None, limits: Limits = Limits(),
        drop_uid: int | None = None, drop_gid: int | None = None, egress_socket: str | None = None,
        seccomp_bpf: str | None = None, required_layers: tuple[str, ...] = (),
    ) -> None:
        if env is None:
            env = {}
        self._set_fields(locals())

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__slots__}
        data["env"] = dict(self.env)
        data["limits"] = self.limits.to_dict()
        data["filesystem"] = tuple(grant.to_dict() for grant in self.filesystem)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SandboxSpec:
        data = dict(data)
        data["limits"] = Limits(**data.get("limits", {}))
        data["filesystem"] = tuple(PathGrant(**grant) for grant in data.get("filesystem", ()))
        for key in ("runtime_dirs", "library_dirs", "network", "required_layers"):
            data[key] = tuple(data.get(key, ()))
        return cls(**data)
