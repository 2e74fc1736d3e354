"""Invocations: `plugyard.rpc.plugin.<name>.<action>` in a queue group over every host that has the plugin loaded.

The request body is the JSON object of arguments; a `Plugyard-Timeout` header (seconds) bounds the call. The reply
is `{"result": ...}` or `{"error": {"code", "message", "details"}}`. Each message is served in a task of its own, so
one plugin takes many calls at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from plugyard_core.json_limits import JsonLimitExceeded, loads_within_limits
from plugyard_core.rpc_server import stream_delivery_refusal
from plugyard_core.streams import plugin_subject
from plugyard_loader.runner import error_reply
from plugyard_schemas.loader import INVOKE_TIMEOUT_HEADER as TIMEOUT_HEADER

if TYPE_CHECKING:
    from plugyard_loader.runner import PluginRunner

log = logging.getLogger("plugyard.loader.invoke")

QUEUE_GROUP = "plugyard-loaders"
DEFAULT_TIMEOUT_S = 30.0
MAX_TIMEOUT_S = 600.0
MAX_REPLY_BYTES = 1024 * 1024 - 4096  # NATS' default max payload, less room for headers


def parse_timeout(msg: Msg) -> float | str:
    raw = (msg.headers or {}).get(TIMEOUT_HEADER)
    if raw is None:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        return f"the {TIMEOUT_HEADER} header {raw!r} is not a number of seconds"
    if not 0 < value <= MAX_TIMEOUT_S:
        return f"the {TIMEOUT_HEADER} header must be above 0 and at most {MAX_TIMEOUT_S:g} s, not {raw}"
    return value


def parse_args(data: bytes) -> dict[str, Any] | str:
    if not data.strip():
        return {}
    try:
        args = loads_within_limits(data)
    except JsonLimitExceeded as exc:
        return f"the request body is refused: {exc}"
    except ValueError as exc:
        return f"the request body is not JSON: {exc}"
    if not isinstance(args, dict):
        return f"the request body must be a JSON object of arguments, not {type(args).__name__}"
    return args


class InvocationRouter:
    def __init__(self, nc: Client, runners: dict[str, PluginRunner]) -> None:
        self.nc = nc
        self.runners = runners
        self._subscriptions: dict[str, Subscription] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def expose(self, name: str) -> None:
        if name not in self._subscriptions:
            self._subscriptions[name] = await self.nc.subscribe(plugin_subject(name), queue=QUEUE_GROUP, cb=self._dispatch)

    async def hide(self, name: str) -> None:
        subscription = self._subscriptions.pop(name, None)
        if subscription is not None:
            await subscription.unsubscribe()

    async def _dispatch(self, msg: Msg) -> None:
        task = asyncio.get_running_loop().create_task(self._serve(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, msg: Msg) -> None:
        reply = await self._answer(msg)
        if not msg.reply:
            return
        payload = json.dumps(reply, separators=(",", ":")).encode()
        if len(payload) > MAX_REPLY_BYTES:
            payload = json.dumps(error_reply("result_too_large", f"the result is {len(payload)} bytes, over the {MAX_REPLY_BYTES}-byte limit")).encode()
        try:
            await msg.respond(payload)
        except Exception as exc:  # the caller went away or the connection is closing: nothing to answer
            log.debug("could not answer %s: %s", msg.subject, exc)

    async def _answer(self, msg: Msg) -> dict[str, Any]:
        refusal = stream_delivery_refusal(msg.subject, msg.reply)
        if refusal:
            return error_reply("invalid_request", refusal)
        parts = msg.subject.split(".")
        if len(parts) != 5:
            return error_reply("invalid_request", f"{msg.subject} is not plugyard.rpc.plugin.<name>.<action>")
        name, action = parts[3], parts[4]
        runner = self.runners.get(name)
        if runner is None:
            return error_reply("not_loaded", f"{name} is not loaded here")
        timeout = parse_timeout(msg)
        if isinstance(timeout, str):
            return error_reply("invalid_request", timeout)
        args = parse_args(msg.data)
        if isinstance(args, str):
            return error_reply("invalid_request", args)
        return await runner.invoke(action, args, timeout)
