"""Workers for small plugins written into tmp_path, run with the real sandbox and the staged runtime."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from plugyard_sandbox.spec import SandboxSpec
from plugyard_worker.host import WorkerHandle
from plugyard_worker.runtime import runtime_read_dirs, stage_runtime

HEADER = """
import os, sys, time, threading
from plugyard_sdk import Plugin, PluginError, action, get_logger
log = get_logger(__name__)
"""


@pytest.fixture(scope="session")
def runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return stage_runtime(tmp_path_factory.mktemp("cache"))


class Events(list):
    def of(self, op: str) -> list[dict[str, Any]]:
        return [event for event in self if event.get("op") == op]


@pytest.fixture
def make_spec(tmp_path: Path, runtime_dir: Path) -> Callable[..., SandboxSpec]:
    def make(source: str, **overrides: Any) -> SandboxSpec:
        package = tmp_path / "plugin" / "demo"
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text(HEADER + textwrap.dedent(source))
        state = tmp_path / "state"
        state.mkdir(exist_ok=True)
        fields: dict[str, Any] = dict(
            plugin="demo", version="1.0.0", plugin_dir=str(tmp_path / "plugin"), state_dir=str(state),
            runtime_dirs=(str(runtime_dir), *runtime_read_dirs()),
            env={"HOME": str(state), "TMPDIR": str(state), "LANG": "C.UTF-8"},
        )
        fields.update(overrides)
        return SandboxSpec(**fields)

    return make


@pytest.fixture
async def start(make_spec: Callable[..., SandboxSpec], runtime_dir: Path) -> AsyncIterator[Callable[..., Any]]:
    """`await start(source)`: a ready worker running class Demo of `source` (and its event list as .events)."""
    handles: list[WorkerHandle] = []

    async def start_worker(source: str, *, entry: str = "demo:Demo", start_timeout: float = 15.0, **overrides: Any) -> WorkerHandle:
        events = Events()
        handle = await WorkerHandle.start(
            make_spec(source, **overrides), entry=entry, sys_path=[str(runtime_dir)], context={"name": "demo"},
            on_event=events.append, start_timeout=start_timeout,
        )
        handle.events = events  # type: ignore[attr-defined]
        handles.append(handle)
        return handle

    yield start_worker
    for handle in handles:
        handle.kill()
        await handle.exited.wait()
