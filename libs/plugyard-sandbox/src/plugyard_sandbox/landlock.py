"""Worker side: Landlock file-system rules and scopes (ctypes, stdlib only).

Network access is deliberately not handled: the worker's network namespace is the network boundary, and
handling it here would also block the loopback egress forwarder.
"""

from __future__ import annotations

import ctypes
import os
import stat

from plugyard_sandbox._linux import (
    SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_RESTRICT_SELF, libc, os_error,
)

CREATE_RULESET_VERSION = 1 << 0
RULE_PATH_BENEATH = 1

EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5

SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1  # ABI 6

FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # the rights a rule on a non-directory may carry
READ = READ_FILE | READ_DIR
READ_EXEC = READ | EXECUTE
READ_WRITE = (
    READ | WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | MAKE_SOCK | MAKE_FIFO | MAKE_SYM | REFER | TRUNCATE
)
DEVICE_RW = READ_FILE | WRITE_FILE | TRUNCATE  # /dev/null & co. (no ioctl: isatty() just answers False)

SYSTEM_READ_EXEC = ("/usr/lib", "/lib", "/lib64", "/usr/lib64")
SYSTEM_READ = (
    "/etc/ssl", "/etc/ca-certificates", "/usr/share/ca-certificates", "/etc/pki", "/etc/localtime", "/etc/resolv.conf",
    "/etc/hosts", "/etc/nsswitch.conf", "/etc/gai.conf", "/etc/services", "/etc/protocols", "/usr/share/zoneinfo",
    "/etc/timezone", "/usr/share/locale", "/usr/share/mime", "/etc/mime.types", "/etc/os-release", "/etc/ld.so.cache",
    # Only this process's own /proc entry: other processes' environ/maps stay unreadable. (Landlock pins the inode
    # of /proc/<pid>, which procfs may recreate under memory pressure; then /proc/self just becomes unreadable.)
    "/proc/self",
)
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random", "/dev/full")


class RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def abi_version() -> int:
    """The kernel's Landlock ABI; 0 when it has none (or it is disabled), negative never."""
    version = libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), CREATE_RULESET_VERSION)
    return max(version, 0)


def handled_fs(abi: int) -> int:
    handled = (MAKE_SYM << 1) - 1  # ABI 1: EXECUTE ... MAKE_SYM
    if abi >= 2:
        handled |= REFER
    if abi >= 3:
        handled |= TRUNCATE
    if abi >= 5:
        handled |= IOCTL_DEV
    return handled


class Ruleset:
    """Built while still privileged (paths opened as root); enforced later, once no_new_privs is set."""

    def __init__(self, scope: bool = True) -> None:
        self.abi = abi_version()
        if self.abi < 1:
            raise OSError("Landlock is not supported or disabled in this kernel")
        self.handled = handled_fs(self.abi)
        attr = RulesetAttr(self.handled, 0, (SCOPE_SIGNAL | SCOPE_ABSTRACT_UNIX_SOCKET) if scope and self.abi >= 6 else 0)
        size = 24 if self.abi >= 6 else 16 if self.abi >= 4 else 8
        self.fd = libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
        if self.fd < 0:
            raise os_error("landlock_create_ruleset")
        self.scoped = attr.scoped

    def allow(self, path: str, access: int) -> bool:
        """Grant `access` beneath `path`; False when the path does not exist (skipped)."""
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            if not stat.S_ISDIR(os.fstat(fd).st_mode):
                access &= FILE_ONLY
            rule = PathBeneathAttr(access & self.handled, fd)
            if libc.syscall(SYS_LANDLOCK_ADD_RULE, self.fd, RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
                raise os_error(f"landlock_add_rule({path})")
        finally:
            os.close(fd)
        return True

    def enforce(self) -> None:
        """Restrict this thread (and threads it starts later) for good; needs no_new_privs (or CAP_SYS_ADMIN)."""
        try:
            if libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, self.fd, 0) != 0:
                raise os_error("landlock_restrict_self")
        finally:
            os.close(self.fd)


def build_ruleset(read_exec, read_only, read_write, scope_signals: bool = True) -> Ruleset:
    ruleset = Ruleset(scope=scope_signals)
    try:
        for paths, access in ((SYSTEM_READ_EXEC, READ_EXEC), (SYSTEM_READ, READ), (DEVICES, DEVICE_RW),
                              (read_exec, READ_EXEC), (read_only, READ), (read_write, READ_WRITE)):
            for path in paths:
                ruleset.allow(path, access)
    except BaseException:
        os.close(ruleset.fd)
        raise
    return ruleset


def restrict_self(read_exec, read_only, read_write, scope_signals: bool = True) -> Ruleset:
    """Build and enforce in one step (the caller must have set no_new_privs)."""
    ruleset = build_ruleset(read_exec, read_only, read_write, scope_signals)
    ruleset.enforce()
    return ruleset
