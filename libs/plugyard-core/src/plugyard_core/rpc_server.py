"""The server side of RPCs: every failure of a FastStream handler becomes a typed `ErrorReply`."""

from __future__ import annotations

from faststream import ExceptionMiddleware
from pydantic import ValidationError

from plugyard_core.rpc import RpcError, describe_validation_error, error_reply


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
