"""Worker side: a PEP 578 audit hook that REPORTS what the plugin attempts beyond its declared permissions.

It never blocks anything (the kernel layers are the boundary; Python-level hooks can be bypassed); it tells the
host early and with a readable target. Every report counts towards quarantine on the host, so one attempt
must give one report: identical (permission, target) pairs are reported once, and at most MAX_REPORTS in all.
"""

from __future__ import annotations

import os
import sys
import _thread

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from plugyard_sandbox.spec import SandboxSpec

    Report = Callable[[str, str, str], None]  # (permission, target, detail)

MAX_REPORTS = 100
# Read by ordinary libraries in passing (shared libraries, time zones, certificates, name resolution, MIME
# types, randomness): reporting them would quarantine well-behaved plugins.
SYSTEM_READABLE = (
    "/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/share/zoneinfo", "/usr/share/locale", "/usr/share/ca-certificates",
    "/usr/share/mime", "/etc/localtime", "/etc/timezone", "/etc/ssl", "/etc/pki", "/etc/ca-certificates", "/etc/hosts",
    "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/gai.conf", "/etc/services", "/etc/protocols", "/etc/mime.types",
    "/etc/os-release", "/dev/null", "/dev/zero", "/dev/urandom", "/dev/random",
)
ALWAYS_WRITABLE = ("/dev/null", "/dev/stdout", "/dev/stderr")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def _prefixes(paths) -> tuple[str, ...]:
    found: list[str] = []
    for path in paths:
        for form in (os.path.abspath(path), os.path.realpath(path)):
            form = form.rstrip("/") or "/"
            if form not in found:
                found.append(form)
    return tuple(found)


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    for prefix in prefixes:
        if path == prefix or path.startswith(prefix + "/") or prefix == "/":
            return True
    return False


def _host_port(address: Any) -> tuple[str, str] | None:
    """(host, "host:port") for an inet address tuple; (path, path) for a Unix socket; None otherwise."""
    if isinstance(address, tuple) and len(address) >= 2:
        host = str(address[0]).lower().strip("[]").removesuffix(".")
        return host, (f"[{host}]:{address[1]}" if ":" in host else f"{host}:{address[1]}")
    if isinstance(address, (str, bytes)):
        path = os.fsdecode(address) if address else "<unnamed>"
        return path, path
    return None


class AuditReporter:
    def __init__(self, spec: SandboxSpec, report: Report, *, extra_readable: tuple[str, ...] = ()) -> None:
        self._report = report
        self._spec = spec
        writable = [spec.state_dir, *(g.path for g in spec.filesystem if g.mode == "write"), *ALWAYS_WRITABLE]
        readable = [
            *writable, *(g.path for g in spec.filesystem), spec.plugin_dir, *spec.runtime_dirs, *spec.library_dirs,
            *SYSTEM_READABLE, *extra_readable, "/proc/self", "/proc/thread-self", f"/proc/{os.getpid()}",
        ]
        self._writable = _prefixes(writable)
        self._readable = _prefixes(readable)
        self._network = {target.lower() for target in spec.network}
        self._network_ports: set[str] = set()
        self._pid = os.getpid()
        self._seen: set[tuple[str, str]] = set()
        self._local = _thread._local()  # threading.local, without importing threading
        self._armed = False
        self._handlers: dict[str, Callable[[tuple], None]] = {
            "open": self._open,
            "os.remove": self._first_path_written, "os.rmdir": self._first_path_written, "os.mkdir": self._first_path_written,
            "os.chmod": self._first_path_written, "os.truncate": self._first_path_written,
            "os.rename": self._rename, "os.symlink": self._second_path_written, "os.link": self._second_path_written,
            "socket.connect": self._connect, "socket.sendto": self._connect, "socket.getaddrinfo": self._getaddrinfo,
            "ctypes.dlopen": self._dlopen,
            "os.kill": self._kill, "os.killpg": self._kill,
        }
        if not spec.subprocess:
            self._handlers.update({
                "subprocess.Popen": self._popen, "os.posix_spawn": self._exec, "os.exec": self._exec,
                "os.spawn": self._spawn, "os.system": self._system, "pty.spawn": self._pty_spawn,
                "os.fork": self._fork, "os.forkpty": self._fork,
            })
        if spec.native:
            del self._handlers["ctypes.dlopen"]

    def allow_local_port(self, port: int) -> None:
        """The egress forwarder's 127.0.0.1 port: connecting to it is the declared way out."""
        self._network_ports.add(str(port))

    def install(self) -> None:
        sys.addaudithook(self._hook)

    def arm(self) -> None:
        """Start reporting: from here on, what happens is the plugin's doing (its import, setup, calls)."""
        self._armed = True

    # --- the hook -----------------------------------------------------------------------------------------------

    def _hook(self, event: str, args: tuple) -> None:
        handler = self._handlers.get(event)
        if handler is None or not self._armed or getattr(self._local, "busy", False):
            return
        self._local.busy = True
        try:
            handler(args)
        except Exception:  # a reporting bug must never turn into the plugin's exception
            pass
        finally:
            self._local.busy = False

    def _emit(self, permission: str, target: str, detail: str) -> None:
        key = (permission, target)
        if key in self._seen or len(self._seen) >= MAX_REPORTS:
            return
        self._seen.add(key)
        self._report(permission, target, detail)

    # --- filesystem ---------------------------------------------------------------------------------------------

    def _path(self, path: Any) -> str | None:
        if isinstance(path, int) or path is None:
            return None  # an already open descriptor
        return os.path.abspath(os.fsdecode(path))

    def _open(self, args: tuple) -> None:
        path = self._path(args[0])
        if path is None:
            return
        mode, flags = args[1], args[2] if len(args) > 2 else 0
        writing = bool(flags & _WRITE_FLAGS) if isinstance(flags, int) and flags else isinstance(mode, str) and any(c in mode for c in "wax+")
        if writing:
            self._check_write(path, "open for writing")
        elif not _under(path, self._readable):
            self._emit("filesystem", path, "read outside the plugin's folders and declared paths")

    def _check_write(self, path: str | None, what: str) -> None:
        if path is not None and not _under(path, self._writable):
            self._emit("filesystem", path, f"{what} outside the state dir and declared write paths")

    def _first_path_written(self, args: tuple) -> None:
        self._check_write(self._path(args[0]), "changing a file")

    def _second_path_written(self, args: tuple) -> None:
        self._check_write(self._path(args[1]), "creating a link")

    def _rename(self, args: tuple) -> None:
        self._check_write(self._path(args[0]), "renaming")
        self._check_write(self._path(args[1]), "renaming")

    # --- network ------------------------------------------------------------------------------------------------

    def _connect(self, args: tuple) -> None:
        parsed = _host_port(args[-1])
        if parsed is None:
            return
        host, target = parsed
        if host == self._spec.egress_socket or target in self._network:
            return
        if host in _LOCAL_HOSTS and target.rpartition(":")[2] in self._network_ports:
            return
        detail = "no network declared" if not self._spec.network else "not a declared network target"
        self._emit("network", target, detail)

    def _getaddrinfo(self, args: tuple) -> None:
        if self._spec.network or args[0] is None:
            return
        host = os.fsdecode(args[0]) if isinstance(args[0], bytes) else str(args[0])
        parsed = _host_port((host, args[1]))
        if parsed is not None and not (parsed[0] in _LOCAL_HOSTS and str(args[1]) in self._network_ports):
            self._emit("network", parsed[1], "name lookup with no network declared")

    # --- processes, native code, signals ------------------------------------------------------------------------

    def _popen(self, args: tuple) -> None:
        executable, argv = args[0], args[1]
        if executable is None and isinstance(argv, (list, tuple)) and argv:
            executable = argv[0]
        elif executable is None:
            executable = argv
        self._emit("subprocess", os.fsdecode(executable) if isinstance(executable, (str, bytes, os.PathLike)) else str(executable), "starting a process")

    def _exec(self, args: tuple) -> None:
        self._emit("subprocess", os.fsdecode(args[0]), "starting a process")

    def _spawn(self, args: tuple) -> None:
        self._emit("subprocess", os.fsdecode(args[1]), "starting a process")

    def _system(self, args: tuple) -> None:
        self._emit("subprocess", os.fsdecode(args[0]), "running a shell command")

    def _pty_spawn(self, args: tuple) -> None:
        argv = args[0]
        self._emit("subprocess", os.fsdecode(argv[0] if isinstance(argv, (list, tuple)) else argv), "starting a process")

    def _fork(self, args: tuple) -> None:
        self._emit("subprocess", "fork", "forking the worker")

    def _dlopen(self, args: tuple) -> None:
        if args[0] is not None:
            self._emit("native", os.fsdecode(args[0]), "loading a native library")

    def _kill(self, args: tuple) -> None:
        pid = args[0]
        if pid not in (self._pid, 0, -self._pid):  # 0 and -pid: the worker's own process group
            self._emit("signal", f"pid {pid}", "signalling another process")
