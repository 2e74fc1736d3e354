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
    log = tmp_path / "ledger.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "plugyard_ledger"], env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while log.read_text().count("Connect call failed") < 2:  # retrying, not crashed
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0
    assert "Traceback" not in log.read_text()
