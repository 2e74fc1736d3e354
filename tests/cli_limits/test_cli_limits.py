"""The CLI decodes nothing from the bus before checking it against the JSON limits: a reply, ack or event nested
100,000 deep (which made json.loads overflow the C stack of a process where py_ecc raised the recursion limit, and
the CLI imports py_ecc) is a one-line error, or for `events tail` a line saying it was refused; never a traceback,
never SIGSEGV. Real `plugyard` processes against a real nats-server with fake responders."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from plugyard_cli.loader_hosts import discover_hosts
from plugyard_cli.output import CliError
from plugyard_core.json_limits import MAX_DEPTH, REPLY_MAX_DEPTH
from plugyard_core.streams import EVENTS_STREAM, ensure_streams, loader_subject, plugin_subject, rpc_subject

PLUGYARD = str(Path(sys.executable).parent / "plugyard")
LEVELS = 100_000
DEEP = b"[" * LEVELS + b"]" * LEVELS
REPLY_REFUSAL = f"JSON nested {LEVELS} levels deep, deeper than the {REPLY_MAX_DEPTH}-level limit"


async def cli(nats_url: str, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        PLUGYARD, *args, env={**os.environ, "PLUGYARD_NATS_URL": nats_url, "COLUMNS": "300"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, out.decode(), err.decode()


def assert_one_line_error(code: int, out: str, err: str, *, exit_code: int, message: str) -> None:
    assert code not in (-11, 139), "the CLI died with SIGSEGV"
    assert "Traceback" not in err
    assert err.splitlines() == [f"error: {message}"], err
    assert code == exit_code, err
    assert json.loads(out)["error"]["message"] == message


@pytest.fixture
async def responder(nc) -> AsyncIterator[Callable]:
    """`await responder(subject, body)`: answers every request on `subject` with `body`."""
    subscriptions = []

    async def answer_with(subject: str, body: bytes) -> None:
        async def reply(msg) -> None:
            await msg.respond(body)

        subscriptions.append(await nc.subscribe(subject, cb=reply))
        await nc.flush()

    yield answer_with
    for subscription in subscriptions:
        await subscription.unsubscribe()


async def test_a_deep_invocation_reply_is_a_one_line_error(nats_server, responder) -> None:
    await responder(plugin_subject("deep", "hello"), DEEP)
    code, out, err = await cli(nats_server.url, "invoke", "deep", "hello", "--json")
    assert_one_line_error(code, out, err, exit_code=1, message=f"the reply from deep is refused: {REPLY_REFUSAL}")


async def test_an_invocation_reply_at_the_reply_limit_is_shown(nats_server, responder) -> None:
    inner = REPLY_MAX_DEPTH - 1  # {"result": ...} is the first level
    await responder(plugin_subject("deep", "hello"), b'{"result":' + b"[" * inner + b"]" * inner + b"}")
    code, out, err = await cli(nats_server.url, "invoke", "deep", "hello", "--json")
    assert code == 0, err
    assert json.dumps(json.loads(out)["result"]).count("[") == inner


async def test_deep_arguments_are_a_usage_error(nats_server) -> None:
    levels = 60_000  # a command-line argument holds at most 128 KiB
    code, out, err = await cli(nats_server.url, "invoke", "deep", "hello", "--args", "[" * levels + "]" * levels, "--json")
    refusal = f"JSON nested {levels} levels deep, deeper than the {MAX_DEPTH}-level limit"
    assert_one_line_error(code, out, err, exit_code=64, message=f"--args is refused: {refusal}")


async def test_a_deep_hosts_reply_is_a_one_line_error(nats_server, responder) -> None:
    subject = rpc_subject("loader", "hosts")
    await responder(subject, DEEP)
    code, out, err = await cli(nats_server.url, "ps", "--json")
    assert_one_line_error(code, out, err, exit_code=1, message=f"no valid answer on {subject}: a reply is refused: {REPLY_REFUSAL}")


async def test_a_good_loader_is_found_beside_a_deep_hosts_reply(nats_server, responder, nc) -> None:
    await responder(rpc_subject("loader", "hosts"), DEEP)
    await responder(rpc_subject("loader", "hosts"), json.dumps({"host": "good-host", "plugins": 0}).encode())
    await responder(loader_subject("good-host", "ps"), DEEP)
    code, out, err = await cli(nats_server.url, "ps", "--json")
    subject = loader_subject("good-host", "ps")
    assert_one_line_error(code, out, err, exit_code=1, message=f"the reply on {subject} is refused: {REPLY_REFUSAL}")


async def test_a_deep_publish_ack_is_a_one_line_error(nats_server, responder) -> None:
    subject = "plugyard.evt.acme.Shipped"
    await responder(subject, DEEP)
    code, out, err = await cli(nats_server.url, "events", "publish", subject, "--type", "t", "--source", "acme/x", "--json")
    assert_one_line_error(code, out, err, exit_code=1, message=f"the ack on {subject} is refused: {REPLY_REFUSAL}")


async def test_publish_without_a_stream_and_deep_data_are_one_line_errors(nats_server) -> None:
    subject = "plugyard.evt.acme.Shipped"
    code, out, err = await cli(nats_server.url, "events", "publish", subject, "--type", "t", "--source", "acme/x", "--json")
    assert_one_line_error(code, out, err, exit_code=69, message=f"no stream stores {subject} (is the stack up?)")
    levels = 60_000
    code, out, err = await cli(nats_server.url, "events", "publish", subject, "--type", "t", "--source", "acme/x", "--data",
                               "[" * levels + "]" * levels, "--json")
    refusal = f"JSON nested {levels} levels deep, deeper than the {MAX_DEPTH}-level limit"
    assert_one_line_error(code, out, err, exit_code=64, message=f"--data is refused: {refusal}")
    # data at the limit makes an event one level deeper, which every consumer would reject
    at_limit = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    code, out, err = await cli(nats_server.url, "events", "publish", subject, "--type", "t", "--source", "acme/x", "--data", at_limit, "--json")
    refusal = f"JSON nested {MAX_DEPTH + 1} levels deep, deeper than the {MAX_DEPTH}-level limit"
    assert_one_line_error(code, out, err, exit_code=64, message=f"the event is refused: {refusal}")


async def test_publish_on_the_stream_still_works(nats_server, nc) -> None:
    await ensure_streams(nc.jetstream())
    code, out, err = await cli(nats_server.url, "events", "publish", "plugyard.evt.acme.Shipped", "--type", "t", "--source", "acme/x",
                               "--id", "one", "--data", '{"n": 1}', "--json")
    assert code == 0, err
    assert json.loads(out) == {"id": "one", "subject": "plugyard.evt.acme.Shipped", "stream": EVENTS_STREAM, "seq": 1, "duplicate": False}


async def test_tail_shows_a_deep_event_as_refused_and_goes_on(nats_server, nc) -> None:
    js = nc.jetstream()
    await ensure_streams(js)
    await js.publish("plugyard.evt.acme.Deep", DEEP)
    fine = {"specversion": "1.0", "id": "after", "source": "acme/x", "type": "t", "time": "2026-01-01T00:00:00Z", "data": {"n": 1}}
    await js.publish("plugyard.evt.acme.Fine", json.dumps(fine).encode())
    refusal = f"JSON nested {LEVELS} levels deep, deeper than the {MAX_DEPTH}-level limit"

    code, out, err = await cli(nats_server.url, "events", "tail", "plugyard.evt.acme.>", "--from-start", "-n", "2", "--json")
    assert code == 0 and "Traceback" not in err, err
    first, second = (json.loads(line) for line in out.splitlines())
    assert first == {"seq": 1, "subject": "plugyard.evt.acme.Deep", "event": None, "refused": refusal}
    assert second["seq"] == 2 and second["event"]["id"] == "after"

    code, out, err = await cli(nats_server.url, "events", "tail", "plugyard.evt.acme.>", "--from-start", "-n", "2")
    assert code == 0 and "Traceback" not in err, err
    lines = out.splitlines()
    assert lines[0] == f"#1 plugyard.evt.acme.Deep (refused: {refusal})"
    assert lines[1].startswith("#2 ") and "id=after" in lines[1]


async def test_discovery_names_what_was_wrong_when_no_valid_announcement_came(nc, responder) -> None:
    await responder(rpc_subject("loader", "hosts"), b'{"host": 7}')
    with pytest.raises(CliError, match=r"a reply is not a valid HostAnnouncement: host: Input should be a valid string; plugins: Field required"):
        await discover_hosts(nc)
