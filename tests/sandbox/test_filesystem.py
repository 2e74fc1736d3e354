"""Landlock, the noexec mounts and the covered /root: what the plugin may read, write and map executable."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import DROP_UID, denied

ACCESS = """
def write(path):
    with open(path, "w") as out:
        out.write("x")
    return path

def read(path):
    with open(path) as source:
        return source.read()

attempt("write_state", lambda: write(os.path.join(spec.state_dir, "mine.txt")))
attempt("write_tmp", lambda: write("/tmp/plugyard-sandbox-escape.txt"))
attempt("write_plugin_dir", lambda: write(os.path.join(spec.plugin_dir, "patched.py")))
attempt("read_plugin_dir", lambda: read(os.path.join(spec.plugin_dir, "module.py")))
attempt("read_other_plugin", lambda: read(args["other"]))
attempt("read_host_secret", lambda: read(args["secret"]))
attempt("read_root_file", lambda: read("/root/.bashrc"))
attempt("list_root", lambda: os.listdir("/root"))
attempt("read_shadow", lambda: read("/etc/shadow"))
attempt("read_own_proc", lambda: read("/proc/self/status")[:4])
attempt("read_host_environ", lambda: read(f"/proc/{args['host_pid']}/environ"))
attempt("dev_null", lambda: write("/dev/null"))
attempt("uid", os.getuid)
attempt("stdlib", lambda: [__import__(name).__name__ for name in ("json", "decimal", "ssl", "sqlite3", "zoneinfo")])
"""


@pytest.fixture
def other_plugin() -> Iterator[Path]:
    """Another plugin's file where plain permissions would let anyone read it: only Landlock stands in the way."""
    folder = Path(tempfile.mkdtemp(prefix="plugyard-other-"))
    folder.chmod(0o755)
    secret = folder / "data.txt"
    secret.write_text("another plugin's data")
    secret.chmod(0o644)
    yield secret
    shutil.rmtree(folder)


@pytest.mark.parametrize("drop", [True, False], ids=["dropped-user", "root-without-drop"])
def test_files_outside_the_grants_are_denied(make_spec, run_sandboxed, tmp_path, other_plugin, drop) -> None:
    if drop and DROP_UID is None:
        pytest.skip("dropping a user needs root")
    spec = make_spec(**({} if drop else {"drop_uid": None, "drop_gid": None}))
    Path(spec.plugin_dir, "module.py").write_text("VALUE = 1\n")
    secret = tmp_path / "host-secret.txt"
    secret.write_text("host secret")
    secret.chmod(0o600)

    out = run_sandboxed(spec, ACCESS, {"other": str(other_plugin), "secret": str(secret), "host_pid": os.getpid()})

    assert out["layers"]["landlock"] == "active"
    assert out["write_state"] == {"ok": os.path.join(spec.state_dir, "mine.txt")}
    assert denied(out["write_tmp"], errno.EACCES) and not os.path.exists("/tmp/plugyard-sandbox-escape.txt")
    assert denied(out["write_plugin_dir"], errno.EACCES, errno.EROFS)
    assert out["read_plugin_dir"] == {"ok": "VALUE = 1\n"}
    assert denied(out["read_other_plugin"], errno.EACCES)
    assert denied(out["read_host_secret"], errno.EACCES, errno.ENOENT)
    assert denied(out["read_root_file"], errno.EACCES, errno.ENOENT)
    assert denied(out["list_root"], errno.EACCES)
    assert denied(out["read_shadow"], errno.EACCES)
    assert out["read_own_proc"] == {"ok": "Name"}
    assert denied(out["read_host_environ"], errno.EACCES)
    assert out["dev_null"] == {"ok": "/dev/null"}
    assert out["stdlib"] == {"ok": ["json", "decimal", "ssl", "sqlite3", "zoneinfo"]}
    assert out["uid"] == {"ok": spec.drop_uid if drop else 0}


def test_the_dropped_user_sees_only_the_needed_part_of_blocked_folders(make_spec, run_sandboxed) -> None:
    if DROP_UID is None:
        pytest.skip("dropping a user needs root")
    spec = make_spec()
    # The stdlib lives below /root (0700) here; the worker still imports it, and /root shows nothing else.
    code = """
import sysconfig as config
attempt("uid", os.getuid)
attempt("stdlib_dir", lambda: os.path.isdir(config.get_path("stdlib")))
attempt("ssh", lambda: os.path.exists("/root/.ssh") or os.path.exists("/root/.bashrc"))
"""
    out = run_sandboxed(spec, code)
    assert out["layers"]["user"] == "active"
    assert out["uid"] == {"ok": DROP_UID}
    assert out["stdlib_dir"] == {"ok": True}
    assert out["ssh"] == {"ok": False}


def _extension() -> str:
    import _json  # an extension module of the stdlib (lib-dynload), so: any shared object

    return _json.__file__


@pytest.mark.parametrize("native", [False, True])
def test_shared_objects_from_the_plugin_load_only_when_native(make_spec, run_sandboxed, native) -> None:
    spec = make_spec(native=native)
    shutil.copy(_extension(), Path(spec.plugin_dir, "native.so"))
    code = """
import shutil
attempt("plugin_so", lambda: ctypes.CDLL(os.path.join(spec.plugin_dir, "native.so")) and True)
attempt("copy_to_state", lambda: shutil.copy(os.path.join(spec.plugin_dir, "native.so"), os.path.join(spec.state_dir, "copy.so")))
attempt("state_so", lambda: ctypes.CDLL(os.path.join(spec.state_dir, "copy.so")) and True)
"""
    out = run_sandboxed(spec, code)
    assert out["layers"]["landlock"] == "active"
    assert "ok" in out["copy_to_state"]
    if native:
        assert out["plugin_so"] == {"ok": True} and out["state_so"] == {"ok": True}
    else:
        assert denied(out["plugin_so"]) and "map" in out["plugin_so"]["message"]
        assert denied(out["state_so"]) and "map" in out["state_so"]["message"]


@pytest.mark.parametrize("native", [False, True])
def test_new_machine_code_in_memory_only_with_native(make_spec, run_sandboxed, native) -> None:
    from plugyard_sandbox.seccomp_filter import compile_filter

    spec = make_spec(native=native, seccomp_bpf=compile_filter(subprocess=False, native=native))
    code = """
import mmap
attempt("anonymous_exec", lambda: mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC) and True)
attempt("memfd", lambda: os.memfd_create("code") >= 0)
attempt("callback", lambda: ctypes.CFUNCTYPE(ctypes.c_int)(lambda: 7)() == 7)
"""
    out = run_sandboxed(spec, code)
    assert out["layers"]["seccomp"] == "active"
    if native:
        assert out["anonymous_exec"] == {"ok": True} and out["memfd"] == {"ok": True} and out["callback"] == {"ok": True}
    else:  # ctypes callbacks need executable memory from libffi: native territory too
        assert denied(out["anonymous_exec"], 1) and denied(out["memfd"], 1) and out["callback"]["error"] == "MemoryError"
