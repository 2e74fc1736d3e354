"""The ledger as its own process: it waits for NATS without crashing and stops on SIGTERM even then."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from plugyard_core.embedded_nats import free_port


def test_waits_for_an_absent_nats_and_stops_on_sigterm(tmp_path):
    env = {**os.environ, "PLUGYARD_NATS_URL": f"nats://127.0.0.1:{free_port()}", "PLUGYARD_DATA_DIR": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "plugyard_ledger"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(2.5)
    assert process.poll() is None, process.stdout.read().decode()
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0
    output = process.stdout.read().decode()
    assert "Traceback" not in output and "Connect call failed" in output
