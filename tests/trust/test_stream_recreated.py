"""An admin deletes and recreates the events stream under a running stack: every consumer notices that the stream
is behind its position, consumes nothing from the new stream, and `plugyard status` says so (exit 1, naming it)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from plugyard_core.connection import connect
from plugyard_core.streams import EVENTS_STREAM, ensure_streams
from tests.stack.support import start_stack

pytestmark = pytest.mark.stack


def test_status_names_each_consumer_whose_stream_went_behind_it(tmp_path):
    stack = start_stack(tmp_path)
    try:
        for n in range(3):
            stack.cli_json("events", "publish", "plugyard.evt.acme.Before", "--type", "com.acme.Before", "--source", "acme/x", "--data", str(n))
        stack.wait_for("SELECT count(*) FROM events WHERE source = 'acme/x'", 3)

        async def recreate() -> None:
            admin = await connect("test-admin", stack.url, identity="admin", reconnect=False, data_directory=stack.data_dir)
            try:
                await admin.jetstream().delete_stream(EVENTS_STREAM)
                await ensure_streams(admin.jetstream())
            finally:
                await admin.close()

        asyncio.run(recreate())
        stack.cli_json("events", "publish", "plugyard.evt.acme.After", "--type", "com.acme.After", "--source", "acme/x", "--data", "1")
        deadline = time.monotonic() + 60
        while True:
            done = stack.cli("status", "--json")
            report = json.loads(done.stdout)
            ledger = next(s for s in report["services"] if s["name"] == "ledger")
            if done.returncode == 1 and ledger["problems"]:
                break
            assert time.monotonic() < deadline, done.stdout
            time.sleep(1)
        assert "consumer ledger: stream PLUGYARD_EVENTS ends at sequence" in ledger["problems"][0]
        assert "deleted and recreated" in ledger["problems"][0]
        shown = stack.cli("status")
        assert shown.returncode == 1 and "deleted and recreated" in shown.stdout
        # Nothing of the new stream was taken for an event already seen, nor skipped: the ledger stands still.
        assert stack.sql("SELECT count(*) FROM events WHERE source = 'acme/x'")[0][0] == 3
    finally:
        stack.stop()
