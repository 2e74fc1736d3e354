"""`plugyard up` and its services use the stack's own seeds, whatever credentials the shell names."""

from __future__ import annotations

import json
import subprocess

import pytest

from plugyard_core.bus_identities import new_seed
from tests.stack.support import PLUGYARD, start_stack

pytestmark = pytest.mark.stack


def test_a_foreign_seed_in_the_shell_does_not_leak_into_the_stack(tmp_path):
    foreign = tmp_path / "someone-else.nk"
    foreign.write_bytes(new_seed())
    stack = start_stack(tmp_path, env={"PLUGYARD_NATS_CREDS": str(foreign)})  # ready means every service is healthy
    try:
        assert all(service["healthy"] for service in stack.cli_json("status")["services"])
        # A command told to use that seed is refused, naming it, in one line.
        done = subprocess.run([PLUGYARD, "status", "--json"], env={**stack.env(), "PLUGYARD_NATS_CREDS": str(foreign)},
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 69 and json.loads(done.stdout)["nats_ok"] is False
        assert "someone-else.nk" in json.loads(done.stdout)["nats_error"] and "Traceback" not in done.stderr
    finally:
        stack.stop()
