"""Worker side: a network namespace with only loopback, and a private mount namespace (ctypes, stdlib only).

Mounts (while still privileged):
- native = False: the plugin's folders and writable places are bind-mounted noexec, so the kernel refuses to
  mmap a shared object from them executable (dlopen fails) - Landlock cannot express that, it only covers execve.
- a user will be dropped: every path the worker needs must be reachable by that uid even below an ancestor it
  cannot search (/root is 0700 and may hold the Python runtime). Such an ancestor is covered with a tmpfs holding
  only bind mounts of the needed paths, which also hides the rest of it (e.g. /root/.ssh) from the plugin.
"""

from __future__ import annotations

import _socket  # not `socket`: importing that costs every worker's cold start a few ms
import fcntl
import os
import stat
import struct

from plugyard_sandbox._linux import CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWUSER, libc, os_error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from plugyard_sandbox.spec import SandboxSpec

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
# statvfs's ST_* bits equal the MS_* bits; in a user namespace a bind remount must keep these (they are locked).
KEPT_FLAGS = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | 1024 | 2048 | 4096  # + NOATIME, NODIRATIME, RELATIME

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
IFF_RUNNING = 0x40


def _unshare(flags: int, what: str) -> None:
    if libc.unshare(flags) != 0:
        raise os_error(f"unshare({what})")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    encode = lambda text: None if text is None else os.fsencode(text)  # noqa: E731
    if libc.mount(encode(source), encode(target), encode(fstype), flags, encode(data)) != 0:
        raise os_error(f"mount({source or fstype or '-'} on {target})")


def enter_user_namespace() -> None:
    """Non-root only: a user namespace mapping just our own ids, so the namespaces below need no privileges."""
    uid, gid = os.geteuid(), os.getegid()
    _unshare(CLONE_NEWUSER, "CLONE_NEWUSER")
    for name, text in (("setgroups", "deny"), ("gid_map", f"{gid} {gid} 1"), ("uid_map", f"{uid} {uid} 1")):
        with open(f"/proc/self/{name}", "w") as map_file:
            map_file.write(text)


def isolate_network() -> None:
    """A fresh network namespace: only `lo`, brought up for the egress forwarder on 127.0.0.1."""
    _unshare(CLONE_NEWNET, "CLONE_NEWNET")
    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    try:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP | IFF_RUNNING))
    finally:
        sock.close()


def private_mounts() -> None:
    _unshare(CLONE_NEWNS, "CLONE_NEWNS")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount reaches the host, nor the other way


def bind_restricted(path: str, *, read_only: bool) -> bool:
    """Bind `path` onto itself noexec,nosuid,nodev (and read-only); False when it does not exist."""
    if not os.path.exists(path):
        return False
    _mount(path, path, None, MS_BIND | MS_REC)
    kept = os.statvfs(path).f_flag & KEPT_FLAGS
    _mount(None, path, None, MS_REMOUNT | MS_BIND | kept | MS_NOEXEC | MS_NOSUID | MS_NODEV | (MS_RDONLY if read_only else 0))
    return True


def _searchable(st: os.stat_result, uid: int, gid: int) -> bool:
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == gid:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def blocked_ancestor(path: str, uid: int, gid: int) -> str | None:
    """The topmost proper ancestor of `path` that uid/gid (no supplementary groups) cannot search."""
    current = "/"
    for part in path.strip("/").split("/")[:-1]:
        current = os.path.join(current, part)
        try:
            if not _searchable(os.stat(current), uid, gid):
                return current
        except OSError:
            return None
    return None


def _cover(ancestor: str, children: list[str]) -> None:
    """Replace `ancestor` by a tmpfs (0755) holding bind mounts of `children` at their relative paths."""
    children = sorted(set(children))
    children = [c for c in children if not any(c.startswith(other + "/") for other in children if other != c)]
    handles = []
    try:
        for child in children:
            try:
                fd = os.open(child, os.O_PATH | os.O_CLOEXEC)  # the originals, reachable after the tmpfs covers them
            except OSError:
                continue
            handles.append((os.path.relpath(child, ancestor), fd, stat.S_ISDIR(os.fstat(fd).st_mode)))
        _mount("tmpfs", ancestor, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=1m")
        old_umask = os.umask(0o022)
        try:
            for relative, fd, is_dir in handles:
                target = os.path.join(ancestor, relative)
                os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
                if is_dir:
                    os.mkdir(target, 0o755)
                else:
                    os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
                _mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)
        finally:
            os.umask(old_umask)
        _mount(None, ancestor, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    finally:
        for _, fd, _ in handles:
            os.close(fd)


def expose_to(paths: Iterable[str], uid: int, gid: int) -> list[str]:
    """Make every existing path reachable by uid/gid; returns the ancestors covered."""
    wanted = []
    for path in paths:
        for form in (os.path.abspath(path), os.path.realpath(path)):
            if form not in wanted and os.path.exists(form):
                wanted.append(form)
    covered: list[str] = []
    for _ in range(8):  # a needed path may sit below a second blocked folder inside a bound one
        groups: dict[str, list[str]] = {}
        for path in wanted:
            ancestor = blocked_ancestor(path, uid, gid)
            if ancestor is not None:
                groups.setdefault(ancestor, []).append(path)
        if not groups:
            return covered
        for ancestor, children in groups.items():
            _cover(ancestor, children)
            covered.append(ancestor)
    raise OSError(f"paths stay unreachable for uid {uid}: {', '.join(wanted)}")


class Entered:
    """What enter_namespaces achieved: each *_error is None when done, else the reason it is not."""

    def __init__(self) -> None:
        self.userns = False
        self.network_error: str | None = None
        self.mounts_error: str | None = None
        self.noexec_error: str | None = None  # None also when the plugin declares `native`
        self.expose_error: str | None = None  # None also when no user is dropped


def needed_paths(spec: SandboxSpec) -> list[str]:
    """Everything the worker itself opens after the user drop."""
    paths = [*spec.runtime_dirs, spec.plugin_dir, *spec.library_dirs, spec.state_dir, *(g.path for g in spec.filesystem)]
    if spec.egress_socket:
        paths.append(os.path.dirname(spec.egress_socket))
    return paths


def enter_namespaces(spec: SandboxSpec, drop_uid: int | None = None, drop_gid: int | None = None) -> Entered:
    """Network and mount namespaces (as non-root inside a user namespace), noexec binds, paths exposed to drop_uid."""
    entered = Entered()
    if os.geteuid() != 0:
        try:
            enter_user_namespace()
            entered.userns = True
        except OSError as exc:
            entered.network_error = entered.mounts_error = f"no user namespace for an unprivileged host: {exc}"
            entered.noexec_error = None if spec.native else entered.mounts_error
            entered.expose_error = None if drop_uid is None else entered.mounts_error
            return entered
    try:
        isolate_network()
    except OSError as exc:
        entered.network_error = str(exc)
    try:
        private_mounts()
    except OSError as exc:
        entered.mounts_error = str(exc)
    if not spec.native:
        entered.noexec_error = entered.mounts_error
        if entered.mounts_error is None:
            try:
                for path in [spec.plugin_dir, *spec.library_dirs]:
                    bind_restricted(path, read_only=True)
                for path in [spec.state_dir, *(g.path for g in spec.filesystem if g.mode == "write")]:
                    bind_restricted(path, read_only=False)
            except OSError as exc:
                entered.noexec_error = str(exc)
    if drop_uid is not None:
        entered.expose_error = entered.mounts_error
        if entered.mounts_error is None:
            try:
                expose_to(needed_paths(spec), drop_uid, drop_gid if drop_gid is not None else drop_uid)
            except OSError as exc:
                entered.expose_error = str(exc)
    try:
        os.chdir(spec.state_dir)  # the cwd the host gave still points into the mounts as they were before
    except OSError:
        pass
    return entered
