"""Start `plugyard up` as a user would (its own process group), wait for `plugyard status`, stop it with SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from plugyard_core.embedded_nats import free_port

BIN = Path(sys.executable).parent
PLUGYARD = str(BIN / "plugyard")


@dataclass
class Stack:
    data_dir: Path
    url: str
    process: subprocess.Popen
    log: Path

    def env(self) -> dict[str, str]:
        # The data dir is where every command finds this stack's client credentials (creds/client.nk).
        return {**os.environ, "PLUGYARD_NATS_URL": self.url, "PLUGYARD_DATA_DIR": str(self.data_dir)}

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([PLUGYARD, *args], env=self.env(), capture_output=True, text=True, timeout=timeout)

    def cli_json(self, *args: str) -> object:
        done = self.cli(*args, "--json")
        assert done.returncode == 0, f"plugyard {' '.join(args)} exited {done.returncode}: {done.stderr}"
        return json.loads(done.stdout)

    def sql(self, statement: str) -> list[list]:
        return self.cli_json("audit", "sql", statement)["rows"]

    def wait_for(self, statement: str, expected: object, timeout: float = 30) -> object:
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            rows = self.sql(statement)
            value = rows[0][0] if rows else None
            if value == expected:
                return value
            time.sleep(0.3)
        raise AssertionError(f"{statement!r} gave {value!r}, expected {expected!r} within {timeout} s")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


def start_stack(tmp_path: Path, *extra: str, ready_timeout: float = 90, env: dict[str, str] | None = None) -> Stack:
    port = free_port()
    data_dir = tmp_path / "data"
    log = tmp_path / "up.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [PLUGYARD, "up", "--data-dir", str(data_dir), "--nats-port", str(port), *extra],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, env={**os.environ, **(env or {})},
        )
    stack = Stack(data_dir, f"nats://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"plugyard up exited {process.returncode}:\n{stack.output()}")
        if stack.cli("status", "--json", timeout=20).returncode == 0:
            return stack
        time.sleep(0.5)
    stack.stop()
    raise AssertionError(f"stack not ready in {ready_timeout} s:\n{stack.output()}")
