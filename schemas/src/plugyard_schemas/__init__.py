"""Plugyard's message models: every body that crosses the bus is one of these."""

from plugyard_schemas.cloudevent import SPEC_VERSION, CloudEvent
from plugyard_schemas.ledger import MessageRejected, SqlReply, SqlRequest, VerifyReply, VerifyRequest
from plugyard_schemas.rpc import ErrorBody, ErrorCode, ErrorReply, HealthReply, HealthRequest

__all__ = [
    "SPEC_VERSION",
    "CloudEvent",
    "ErrorBody",
    "ErrorCode",
    "ErrorReply",
    "HealthReply",
    "HealthRequest",
    "MessageRejected",
    "SqlReply",
    "SqlRequest",
    "VerifyReply",
    "VerifyRequest",
]
