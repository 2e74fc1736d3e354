"""The ledger's RPCs (`plugyard.rpc.ledger.<verb>`) and the event it records for poison messages."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

MAX_SQL_CHARS = 100_000


class SqlRequest(BaseModel):
    sql: str = Field(min_length=1, max_length=MAX_SQL_CHARS, description="One or more read-only SELECT statements")
    max_rows: int = Field(default=10_000, ge=1, le=1_000_000)


class SqlReply(BaseModel):
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool = False


class VerifyRequest(BaseModel):
    pass


class VerifyReply(BaseModel):
    ok: bool
    rows_checked: int
    first_broken_row: int | None = None
    broken_id: str | None = None
    broken_source: str | None = None
    reason: str | None = None


class MessageRejected(BaseModel):
    """`data` of `dev.plugyard.<service>.MessageRejected`: a message a consumer terminated instead of retrying."""

    reason: str
    nats_subject: str
    stream_seq: int
    stream: str | None = Field(default=None, description="The stream the message was in (PLUGYARD_EVENTS unless said)")
    consumer: str | None = None
    raw_base64: str | None = None
    raw_size: int | None = None


RejectionKind = Literal["invalid_json", "not_cloudevent", "too_large"]
