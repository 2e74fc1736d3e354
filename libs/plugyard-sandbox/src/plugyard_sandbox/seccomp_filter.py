"""Host side: compile the worker's seccomp filter to raw BPF with libseccomp (via pyseccomp).

The worker cannot use libseccomp (stdlib only), so the host compiles once per `subprocess` setting and ships
base64 in the spec; seccomp_install.py loads it. Default ALLOW: the filter removes the kernel's attack surface
and escape hatches that no Python plugin needs; the file and signal boundaries are Landlock's.
"""

from __future__ import annotations

import base64
import errno
import os
import tempfile

from plugyard_sandbox.errors import SandboxUnavailable

DENIED = (
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root", "chroot", "kexec_load",
    "kexec_file_load", "bpf", "keyctl", "add_key", "request_key", "unshare", "setns", "init_module", "finit_module",
    "delete_module", "reboot", "swapon", "swapoff", "syslog", "perf_event_open", "userfaultfd", "open_by_handle_at",
    "name_to_handle_at", "iopl", "ioperm", "acct", "settimeofday", "clock_settime", "sethostname", "setdomainname",
    "quotactl", "io_uring_setup", "io_uring_enter", "io_uring_register",
    # Newer mount API and namespace-adjacent calls: same power as mount(2).
    "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
    # Reaching into other processes or the kernel's odd corners (also denied by container runtimes' defaults).
    "pidfd_getfd", "process_madvise", "kcmp", "uselib", "vhangup", "lookup_dcookie", "fanotify_init",
    "migrate_pages", "move_pages",
)
NO_SUBPROCESS = ("execve", "execveat", "fork", "vfork")

PROT_EXEC = 0x4
MAP_ANONYMOUS = 0x20
CLONE_THREAD = 0x00010000
# Every CLONE_NEW* flag clone(2) accepts (CLONE_NEWTIME shares its bit with CSIGNAL there and is clone3-only).
CLONE_NEW_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)


def compile_filter(*, subprocess: bool, native: bool = True) -> str:
    """Base64 of the BPF program; SandboxUnavailable when libseccomp is unusable here.

    Without `native`, no new machine code can be mapped: the plugin's files are mounted noexec (namespaces.py),
    and here anonymous executable memory, making memory executable later, and memfd files (a file that is on no
    noexec mount) are refused, so shellcode copied in with ctypes cannot run either.
    """
    try:
        import pyseccomp as sc
    except Exception as exc:  # ImportError, or OSError/AttributeError when libseccomp.so.2 is missing or too old
        raise SandboxUnavailable(f"pyseccomp/libseccomp unusable: {type(exc).__name__}: {exc}") from None
    try:
        deny = sc.ERRNO(errno.EPERM)
        seccomp = sc.SyscallFilter(sc.ALLOW)
        seccomp.set_attr(sc.Attr.ACT_BADARCH, sc.KILL_PROCESS)  # e.g. int 0x80 (i386 table) on x86_64
        for name in DENIED + (() if subprocess else NO_SUBPROCESS):
            if sc.resolve_syscall(sc.Arch.NATIVE, name) >= 0:  # e.g. iopl exists on x86 only
                seccomp.add_rule(deny, name)
        # libseccomp cannot compare one argument twice in a rule, so "PER_LINUX or the 0xffffffff query" is not
        # expressible; only PER_LINUX (0) stays allowed.
        seccomp.add_rule(deny, "personality", sc.Arg(0, sc.NE, 0))
        flags_arg = 1 if os.uname().machine.startswith("s390") else 0  # s390 swaps clone's first two arguments
        for flag in CLONE_NEW_FLAGS:
            seccomp.add_rule(deny, "clone", sc.Arg(flags_arg, sc.MASKED_EQ, flag, flag))
        if not subprocess:  # threads are clone(CLONE_THREAD|...); anything else is a new process
            seccomp.add_rule(deny, "clone", sc.Arg(flags_arg, sc.MASKED_EQ, CLONE_THREAD, 0))
        if not native:
            seccomp.add_rule(deny, "mmap", sc.Arg(2, sc.MASKED_EQ, PROT_EXEC, PROT_EXEC), sc.Arg(3, sc.MASKED_EQ, MAP_ANONYMOUS, MAP_ANONYMOUS))
            for name in ("mprotect", "pkey_mprotect"):
                seccomp.add_rule(deny, name, sc.Arg(2, sc.MASKED_EQ, PROT_EXEC, PROT_EXEC))
            seccomp.add_rule(deny, "memfd_create")
        # clone3 passes its flags in memory, out of BPF's reach: ENOSYS makes glibc fall back to clone(2).
        seccomp.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
        with tempfile.TemporaryFile() as out:
            seccomp.export_bpf(out)
            out.seek(0)
            program = out.read()
    except OSError as exc:
        raise SandboxUnavailable(f"libseccomp could not compile the filter: {exc}") from None
    if not program or len(program) % 8:
        raise SandboxUnavailable(f"libseccomp exported a malformed BPF program ({len(program)} bytes)")
    return base64.b64encode(program).decode("ascii")
