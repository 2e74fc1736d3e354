"""The audit reporter's decisions, driven directly (installing it would hook the test process for good)."""

from __future__ import annotations

import os
from pathlib import Path

from plugyard_sandbox.spec import PathGrant, SandboxSpec
from plugyard_worker.audit import MAX_REPORTS, AuditReporter


def reporter(tmp_path: Path, **fields) -> tuple[AuditReporter, list[tuple[str, str, str]]]:
    reports: list[tuple[str, str, str]] = []
    spec = SandboxSpec(plugin="p", version="1", plugin_dir=str(tmp_path / "plugin"), state_dir=str(tmp_path / "state"),
                       runtime_dirs=(str(tmp_path / "runtime"),), **fields)
    audit = AuditReporter(spec, lambda *report: reports.append(report))
    audit.arm()
    return audit, reports


def test_filesystem(tmp_path: Path) -> None:
    audit, reports = reporter(tmp_path, filesystem=(PathGrant(str(tmp_path / "shared"), "write"), PathGrant("/etc/hosts", "read")))
    wr, rd = os.O_WRONLY | os.O_CREAT | os.O_TRUNC, os.O_RDONLY
    for path, mode, flags in [
        (tmp_path / "state" / "a.txt", "w", wr), (tmp_path / "shared" / "x", "a", wr), (tmp_path / "plugin" / "m.py", "r", rd),
        (tmp_path / "runtime" / "x.py", "r", rd), ("/etc/hosts", "r", rd), ("/dev/null", "w", wr), (3, "w", wr),
    ]:
        audit._hook("open", (str(path) if not isinstance(path, int) else path, mode, flags))
    assert reports == []
    audit._hook("open", (str(tmp_path / "plugin" / "m.py"), None, os.O_RDWR))
    audit._hook("open", ("/etc/shadow", "r", rd))
    audit._hook("open", ("/etc/shadow", "r", rd))  # once per target
    audit._hook("os.remove", (str(tmp_path / "statex"), None))  # a sibling of the state dir is outside it
    assert [(p, t) for p, t, _ in reports] == [
        ("filesystem", str(tmp_path / "plugin" / "m.py")), ("filesystem", "/etc/shadow"), ("filesystem", str(tmp_path / "statex")),
    ]


def test_network_subprocess_native_signal(tmp_path: Path) -> None:
    audit, reports = reporter(tmp_path)
    audit._hook("socket.getaddrinfo", ("example.org", 443, 0, 0, 0))
    audit._hook("socket.connect", (None, ("example.org", 443)))
    audit._hook("subprocess.Popen", ("/bin/sh", ["/bin/sh", "-c", "id"], None, None))
    audit._hook("os.posix_spawn", ("/bin/sh", ["/bin/sh"], None))
    audit._hook("ctypes.dlopen", (None,))
    audit._hook("ctypes.dlopen", ("libc.so.6",))
    audit._hook("os.kill", (os.getpid(), 15))
    audit._hook("os.kill", (1, 9))
    assert [(p, t) for p, t, _ in reports] == [
        ("network", "example.org:443"), ("subprocess", "/bin/sh"), ("native", "libc.so.6"), ("signal", "pid 1"),
    ]


def test_declared_network_and_permissions(tmp_path: Path) -> None:
    audit, reports = reporter(tmp_path, network=("api.example.org:443",), subprocess=True, native=True, egress_socket="/run/e.sock")
    audit.allow_local_port(41000)
    audit._hook("socket.getaddrinfo", ("api.example.org", 443, 0, 0, 0))
    audit._hook("socket.connect", (None, ("api.example.org", 443)))
    audit._hook("socket.connect", (None, ("127.0.0.1", 41000)))
    audit._hook("socket.connect", (None, "/run/e.sock"))
    audit._hook("subprocess.Popen", ("git", ["git"], None, None))
    audit._hook("ctypes.dlopen", ("libc.so.6",))
    assert reports == []
    audit._hook("socket.connect", (None, ("93.184.216.34", 80)))
    audit._hook("socket.connect", (None, "/var/run/docker.sock"))
    assert [(p, t) for p, t, _ in reports] == [("network", "93.184.216.34:80"), ("network", "/var/run/docker.sock")]


def test_silent_until_armed_and_capped(tmp_path: Path) -> None:
    reports: list[tuple[str, str, str]] = []
    spec = SandboxSpec(plugin="p", version="1", plugin_dir=str(tmp_path), state_dir=str(tmp_path / "state"))
    audit = AuditReporter(spec, lambda *report: reports.append(report))
    audit._hook("open", ("/etc/shadow", "r", os.O_RDONLY))
    assert reports == []
    audit.arm()
    for i in range(MAX_REPORTS + 20):
        audit._hook("open", (f"/etc/secret-{i}", "r", os.O_RDONLY))
    assert len(reports) == MAX_REPORTS
