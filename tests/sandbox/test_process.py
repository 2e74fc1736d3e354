"""seccomp and Landlock scopes: no new processes (unless declared), no ptrace, no signals out, no namespaces."""

from __future__ import annotations

import errno
import os
import subprocess

import pytest

from .conftest import denied

ESCAPES = """
import signal, subprocess, threading

def run_thread():
    seen = []
    thread = threading.Thread(target=lambda: seen.append(threading.get_ident()))
    thread.start()
    thread.join()
    return len(seen)

def fork():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    return os.waitpid(pid, 0)[1]

attempt("thread", run_thread)
attempt("fork", fork)
attempt("subprocess", lambda: subprocess.run(["/bin/true"], check=True).returncode)
attempt("ptrace_host", lambda: check(libc.ptrace(16, args["host_pid"], None, None)))  # PTRACE_ATTACH
attempt("kill_host", lambda: os.kill(args["host_pid"], signal.SIGTERM))
attempt("kill_same_uid", lambda: os.kill(args["sleeper_pid"], signal.SIGTERM))
attempt("unshare_user", lambda: check(libc.unshare(0x10000000)))
attempt("unshare_net", lambda: check(libc.unshare(0x40000000)))
attempt("mount", lambda: check(libc.mount(b"none", spec.state_dir.encode(), b"tmpfs", 0, None)))
attempt("personality", lambda: check(min(libc.personality(0x0040000), 0)))  # ADDR_NO_RANDOMIZE
"""


@pytest.fixture
def sleeper(make_spec):
    """A process outside the sandbox running as the plugin's own uid: only Landlock's signal scope protects it."""
    spec = make_spec()
    kwargs = {"user": spec.drop_uid, "group": spec.drop_gid, "extra_groups": []} if spec.drop_uid is not None else {}
    process = subprocess.Popen(["sleep", "60"], cwd="/", **kwargs)
    yield process
    process.kill()
    process.wait()


@pytest.mark.parametrize("allow_subprocess", [False, True], ids=["no-subprocess", "subprocess"])
def test_escapes_are_denied(make_spec, run_sandboxed, sleeper, allow_subprocess) -> None:
    spec = make_spec(subprocess=allow_subprocess)
    out = run_sandboxed(spec, ESCAPES, {"host_pid": os.getpid(), "sleeper_pid": sleeper.pid})

    assert out["layers"]["seccomp"] == "active" and out["layers"]["landlock"] == "active"
    assert out["thread"] == {"ok": 1}
    if allow_subprocess:
        assert out["fork"] == {"ok": 0}
        assert out["subprocess"] == {"ok": 0}
    else:
        assert denied(out["fork"], errno.EPERM)
        assert denied(out["subprocess"], errno.EPERM)
    assert denied(out["ptrace_host"], errno.EPERM)
    assert denied(out["kill_host"], errno.EPERM)
    assert denied(out["kill_same_uid"], errno.EPERM)
    assert sleeper.poll() is None
    for name in ("unshare_user", "unshare_net", "mount", "personality"):
        assert denied(out[name], errno.EPERM), (name, out[name])


def test_the_host_survives_a_signal_storm(make_spec, run_sandboxed, sleeper) -> None:
    code = """
import signal
for sig in (signal.SIGTERM, signal.SIGKILL, signal.SIGSTOP, signal.SIGINT):
    attempt(f"sig{int(sig)}", lambda: os.kill(args["host_pid"], sig))
    attempt(f"group{int(sig)}", lambda: os.killpg(os.getpgid(args["host_pid"]), sig))
os.kill(-1, signal.SIGKILL)  # succeeds when every target is denied (the kernel only counts non-EPERM errors)
"""
    out = run_sandboxed(make_spec(), code, {"host_pid": os.getpid()})
    attempts = {name: outcome for name, outcome in out.items() if name not in ("layers", "apply_ms")}
    assert len(attempts) == 8 and all(denied(outcome, errno.EPERM) for outcome in attempts.values()), attempts
    assert sleeper.poll() is None
