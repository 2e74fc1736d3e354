"""Waiting for a process the test started to listen on its port."""

from __future__ import annotations

import socket
import subprocess
import time


def wait_for_port(process: subprocess.Popen, port: int, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, f"{what} exited with {process.returncode}: {process.stderr.read() if process.stderr else ''}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"{what} did not listen on {port}"
            time.sleep(0.05)
