"""Worker side: load the host-compiled seccomp BPF program (ctypes, stdlib only)."""

from __future__ import annotations

import binascii
import ctypes

from plugyard_sandbox._linux import SYS_SECCOMP, libc, os_error, set_no_new_privs

SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_TSYNC = 1
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2


class SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]


def install_program(program: bytes) -> str:
    """Install raw BPF (struct sock_filter[]) for every thread of the process; returns how it was installed."""
    count = len(program) // ctypes.sizeof(SockFilter)
    if count == 0 or count * ctypes.sizeof(SockFilter) != len(program) or count > 4096:
        raise ValueError(f"not a BPF program: {len(program)} bytes")
    instructions = (SockFilter * count).from_buffer_copy(program)
    prog = SockFprog(count, instructions)
    set_no_new_privs()
    if SYS_SECCOMP is not None:
        result = libc.syscall(SYS_SECCOMP, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, ctypes.byref(prog))
        if result == 0:
            return "seccomp(TSYNC)"
        if result > 0:
            raise OSError(f"seccomp TSYNC failed: thread {result} cannot be synchronized")
        raise os_error("seccomp(SECCOMP_SET_MODE_FILTER)")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0) != 0:
        raise os_error("prctl(PR_SET_SECCOMP)")
    return "prctl (calling thread only)"


def install_bpf(b64: str) -> str:
    return install_program(binascii.a2b_base64(b64, strict_mode=True))
