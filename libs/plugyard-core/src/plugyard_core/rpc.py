"""Request/reply on `plugyard.rpc.<service>.<verb>`: the typed errors and the client's call helper (no FastStream import)."""

from __future__ import annotations

import json
from typing import TypeVar

from nats.aio.client import Client
from nats.errors import NoRespondersError, TimeoutError as NatsTimeout
from pydantic import BaseModel, ValidationError

from plugyard_schemas.rpc import ErrorBody, ErrorCode, ErrorReply

ReplyT = TypeVar("ReplyT", bound=BaseModel)


class RpcError(Exception):
    """Raised by a handler to answer with a typed error; raised by `call` when the service answered one."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ServiceUnavailable(RpcError):
    def __init__(self, message: str) -> None:
        super().__init__("unavailable", message)


def describe_validation_error(error: ValidationError) -> str:
    """One line naming each wrong field and what was wrong with it."""
    parts = []
    for item in error.errors():
        loc = [str(p) for p in item.get("loc", ()) if p != "body"]
        if not loc and item.get("type") in {"model_type", "model_attributes_type", "dict_type"}:
            parts.append("the request body is not a JSON object")
            continue
        where = ".".join(loc) or "request"
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def error_reply(code: ErrorCode, message: str) -> dict:
    return ErrorReply(error=ErrorBody(code=code, message=message)).model_dump()


async def call(
    nc: Client, subject: str, request: BaseModel, reply_type: type[ReplyT], *, timeout: float = 5.0
) -> ReplyT:
    """Send a request model, return the reply model; raise RpcError for a typed error reply."""
    try:
        message = await nc.request(subject, request.model_dump_json().encode(), timeout=timeout)
    except NoRespondersError:
        raise ServiceUnavailable(f"no service answers on {subject}") from None
    except NatsTimeout:
        raise ServiceUnavailable(f"no reply on {subject} within {timeout:g} s") from None
    try:
        body = json.loads(message.data)
    except ValueError:
        raise RpcError("internal", f"the reply on {subject} is not JSON") from None
    if isinstance(body, dict) and "error" in body:
        error = ErrorReply.model_validate(body).error
        raise RpcError(error.code, error.message)
    return reply_type.model_validate(body)
