"""A body nested 100,000 deep, sent to a plugin's action or to a loader RPC, gets an `invalid_request` naming the
depth (it used to kill the loader with SIGSEGV); the loader and the plugin go on answering."""

from __future__ import annotations

import json
from pathlib import Path

from plugyard_core.json_limits import MAX_DEPTH
from plugyard_core.rpc import call
from plugyard_core.streams import rpc_subject
from plugyard_loader.handlers import loader_subject
from plugyard_loader.invocation import parse_args
from plugyard_schemas.loader import InstallReply, InstallRequest, LoadRequest, PluginReply, PsReply, PsRequest
from plugyard_schemas.rpc import HealthReply, HealthRequest
from tests.loader.conftest import HOST, Stack
from tests.loader.support import publish_verdict, write_plugin

DEEP = b"[" * 100_000 + b"]" * 100_000
DEPTH_NAMED = f"JSON nested 100000 levels deep, deeper than the {MAX_DEPTH}-level limit"


def test_parse_args_refuses_depth_before_decoding():
    at_limit = b'{"a":' * MAX_DEPTH + b"1" + b"}" * MAX_DEPTH
    assert isinstance(parse_args(at_limit), dict)
    refused = parse_args(b'{"a":' + at_limit + b"}")
    assert refused == f"the request body is refused: JSON nested {MAX_DEPTH + 1} levels deep, deeper than the {MAX_DEPTH}-level limit"
    assert parse_args(b'{"text": "' + b"[" * 10_000 + b'"}') == {"text": "[" * 10_000}


async def test_deep_bodies_are_refused_and_the_loader_answers_after(stack: Stack, tmp_path: Path) -> None:
    await publish_verdict(stack.nc, tmp_path, write_plugin(tmp_path / "src", "greeter"))
    await stack.rpc("install", InstallRequest(requirements=["greeter"]), InstallReply)
    await stack.rpc("load", LoadRequest(name="greeter"), PluginReply)

    invoked = await stack.invoke("greeter", "hello", raw=DEEP)
    assert invoked["error"]["code"] == "invalid_request" and DEPTH_NAMED in invoked["error"]["message"]
    for verb in ("ps", "install", "load"):
        msg = await stack.nc.request(loader_subject(HOST, verb), DEEP, timeout=10)
        error = json.loads(msg.data)["error"]
        assert error["code"] == "invalid_request" and DEPTH_NAMED in error["message"], verb

    health = await call(stack.nc, rpc_subject("loader", "health"), HealthRequest(), HealthReply)
    assert health.healthy and health.details["running"] == 1
    assert (await stack.invoke("greeter", "hello", {"name": "still"}))["result"]["greeting"] == "Hello, still"
    [status] = (await stack.rpc("ps", PsRequest(), PsReply)).plugins
    assert status.state == "running" and status.errors == 0
