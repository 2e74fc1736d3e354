"""Worker side: become the plugin's own unprivileged user (only when the host runs as root)."""

from __future__ import annotations

import ctypes
import os

from plugyard_sandbox._linux import libc, os_error

_CAP_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_user(uid: int, gid: int) -> None:
    """setgroups([]), setresgid, setresuid; raises unless root (and every capability) is gone for good."""
    if uid == 0 or gid == 0:
        raise ValueError("refusing to 'drop' to uid or gid 0")
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid) or os.getgroups():
        raise OSError(f"the user drop did not stick: uids {os.getresuid()}, gids {os.getresgid()}, groups {os.getgroups()}")
    try:
        os.setuid(0)
    except PermissionError:
        pass
    else:
        raise OSError("root could be regained after dropping the user")
    if capabilities_effective() != 0:
        raise OSError("capabilities survived the user drop")


def capabilities_effective() -> int:
    header = _CapHeader(_CAP_VERSION_3, 0)
    data = (_CapData * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        raise os_error("capget")
    return data[0].effective | data[1].effective << 32


def drop_capabilities() -> None:
    """Clear every capability of this thread (used in a user namespace, where there is no user to drop)."""
    header = _CapHeader(_CAP_VERSION_3, 0)
    if libc.capset(ctypes.byref(header), (_CapData * 2)()) != 0:
        raise os_error("capset")
