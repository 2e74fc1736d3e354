"""The server side of RPCs: every failure of a FastStream handler becomes a typed `ErrorReply`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from faststream import BaseMiddleware, ExceptionMiddleware, StreamMessage
from pydantic import ValidationError

from plugyard_core.json_limits import JsonLimitExceeded, check_json_limits
from plugyard_core.rpc import RpcError, describe_validation_error, error_reply

RPC_PREFIX = "plugyard.rpc."


def exception_middleware() -> ExceptionMiddleware:
    """Turns every failure of an RPC handler into an `ErrorReply`, so a bad request never times out."""
    middleware = ExceptionMiddleware()

    @middleware.add_handler(ValidationError, publish=True)
    async def on_invalid(exc: ValidationError) -> dict:
        return error_reply("invalid_request", describe_validation_error(exc))

    @middleware.add_handler(RpcError, publish=True)
    async def on_rpc_error(exc: RpcError) -> dict:
        return error_reply(exc.code, exc.message)

    @middleware.add_handler(Exception, publish=True)
    async def on_unexpected(exc: Exception) -> dict:
        return error_reply("internal", f"{type(exc).__name__}: {exc}")

    return middleware


def stream_delivery_refusal(subject: str, reply: str | None) -> str | None:
    """Why a message that reached an RPC subscription is no request, or None.

    Anyone who may create a push consumer can name an RPC subject as its deliver subject, and the server then
    delivers stream messages there with the server's own rights. Such a delivery keeps the stream's subject and
    carries a `$JS.ACK` reply; a real request carries its own RPC subject.
    """
    if not subject.startswith(RPC_PREFIX) or (reply or "").startswith("$JS."):
        return f"a message on {subject} delivered by a JetStream consumer is not a request"
    return None


class RequestOriginMiddleware(BaseMiddleware):
    """Refuses stream deliveries (see `stream_delivery_refusal`) before any handler runs."""

    async def consume_scope(self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]) -> Any:
        raw = msg.raw_message
        refusal = stream_delivery_refusal(getattr(raw, "subject", ""), getattr(raw, "reply", None))
        if refusal:
            raise RpcError("invalid_request", refusal)
        return await call_next(msg)


class JsonLimitsMiddleware(BaseMiddleware):
    """Checks a request's raw body against the JSON size and depth limits before FastStream decodes it.

    FastStream decodes the body (json.loads, then pydantic) inside `call_next`; a body nested 100,000 deep would
    exhaust the stack there. Raised here, the RpcError becomes an `invalid_request` reply in the exception
    middleware, which must therefore come before this one in the broker's list (the first is the outermost).
    """

    async def consume_scope(self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]) -> Any:
        if isinstance(msg.body, (bytes, bytearray, memoryview)):
            try:
                check_json_limits(msg.body)
            except JsonLimitExceeded as exc:
                raise RpcError("invalid_request", f"the request body is refused: {exc}") from None
        return await call_next(msg)


def rpc_middlewares() -> list:
    """The broker middlewares of every service, outermost first."""
    return [exception_middleware(), RequestOriginMiddleware, JsonLimitsMiddleware]
