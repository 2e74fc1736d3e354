"""Request/reply on `plugyard.rpc.<service>.<verb>`: the typed errors and the client's call helper (no FastStream import)."""

from __future__ import annotations

from typing import TypeVar

from nats.aio.client import Client
from nats.errors import NoRespondersError, TimeoutError as NatsTimeout
from pydantic import BaseModel, ValidationError

from plugyard_core.json_limits import REPLY_MAX_DEPTH, JsonLimitExceeded, loads_within_limits
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


def summarize_validation_error(error: ValidationError, limit: int = 5) -> str:
    """The first few wrong fields of any document (not only a request), each with what was wrong."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in error.errors()[:limit])


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
        body = loads_within_limits(message.data, max_depth=REPLY_MAX_DEPTH)
    except JsonLimitExceeded as exc:
        raise RpcError("internal", f"the reply on {subject} is refused: {exc}") from None
    except ValueError:
        raise RpcError("internal", f"the reply on {subject} is not JSON") from None
    # A reply comes from whoever answers on the subject: one that is not what was asked for is an error naming
    # the subject, never a traceback.
    if isinstance(body, dict) and "error" in body:
        try:
            error = ErrorReply.model_validate(body).error
        except ValidationError as exc:
            problems = summarize_validation_error(exc)
            raise RpcError("internal", f"the error reply on {subject} is malformed: {problems}") from None
        raise RpcError(error.code, error.message)
    try:
        return reply_type.model_validate(body)
    except ValidationError as exc:
        problems = summarize_validation_error(exc)
        raise RpcError("internal", f"the reply on {subject} is not a valid {reply_type.__name__}: {problems}") from None
