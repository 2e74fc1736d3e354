"""Run a snippet in a fresh `python -I -S` child that first applies a real sandbox, and read back what happened."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from plugyard_sandbox.seccomp_filter import compile_filter
from plugyard_sandbox.spec import SandboxSpec
from plugyard_worker.runtime import runtime_read_dirs

SRC = str(Path(__file__).resolve().parents[2] / "libs" / "plugyard-sandbox" / "src")
DROP_UID = 201_234 if os.geteuid() == 0 else None

# The child prints {"layers": ..., "<attempt>": {"ok": value} | {"error": name, "errno": n, "message": text}, ...}.
PRELUDE = """
import ctypes, errno, json, os, sys, time
sys.path.insert(0, {src!r})
from plugyard_sandbox.apply import apply_sandbox
from plugyard_sandbox.errors import SandboxRefused
from plugyard_sandbox.spec import SandboxSpec

spec = SandboxSpec.from_dict(json.loads(sys.argv[1]))
args = json.loads(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)
result = {{}}

def attempt(name, action):
    try:
        result[name] = {{"ok": action()}}
    except BaseException as exc:
        result[name] = {{"error": type(exc).__name__, "errno": getattr(exc, "errno", None), "message": str(exc)}}

def check(rc):
    if rc != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return rc

try:
    started = time.perf_counter()
    result["layers"] = apply_sandbox(spec)
    result["apply_ms"] = (time.perf_counter() - started) * 1000
except SandboxRefused as exc:
    print(json.dumps({{"refused": str(exc)}}))
    sys.exit(0)
"""


@pytest.fixture(scope="session")
def seccomp_filters() -> dict[bool, str]:
    return {flag: compile_filter(subprocess=flag) for flag in (False, True)}


@pytest.fixture
def make_spec(tmp_path: Path, seccomp_filters: dict[bool, str]) -> Callable[..., SandboxSpec]:
    def make(**overrides: Any) -> SandboxSpec:
        plugin, state = tmp_path / "plugin", tmp_path / "state"
        plugin.mkdir(exist_ok=True)
        state.mkdir(exist_ok=True)
        drop_uid = overrides.get("drop_uid", DROP_UID)
        if drop_uid is not None:
            os.chown(state, drop_uid, drop_uid)
        fields: dict[str, Any] = dict(
            plugin="demo", version="1.0.0", plugin_dir=str(plugin), state_dir=str(state),
            runtime_dirs=(SRC, *runtime_read_dirs()), env={"LANG": "C.UTF-8"}, drop_uid=DROP_UID, drop_gid=DROP_UID,
            seccomp_bpf=seccomp_filters[bool(overrides.get("subprocess", False))],
        )
        fields.update(overrides)
        return SandboxSpec(**fields)

    return make


@pytest.fixture
def run_sandboxed() -> Callable[..., dict[str, Any]]:
    def run(spec: SandboxSpec, code: str, args: Any = None, env: dict[str, str] | None = None) -> dict[str, Any]:
        source = PRELUDE.format(src=SRC) + textwrap.dedent(code) + "\nprint(json.dumps(result))\n"
        completed = subprocess.run(
            [sys.executable, "-I", "-S", "-B", "-c", source, json.dumps(spec.to_dict()), json.dumps(args)],
            env=dict(spec.env) if env is None else env, cwd=spec.state_dir, capture_output=True, text=True, timeout=60, start_new_session=True,
        )
        assert completed.returncode == 0, f"child exited {completed.returncode}: {completed.stderr[-4000:]}"
        return json.loads(completed.stdout.strip().splitlines()[-1])

    return run


def denied(outcome: dict[str, Any], *errnos: int) -> bool:
    return "error" in outcome and (not errnos or outcome["errno"] in errnos)
