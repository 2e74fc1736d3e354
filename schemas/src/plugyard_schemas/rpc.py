"""What every RPC on `plugyard.rpc.<service>.<verb>` shares: the typed error reply and the health check."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

ErrorCode = Literal["invalid_request", "refused", "not_found", "conflict", "internal", "unavailable"]


class ErrorBody(BaseModel):
    code: ErrorCode
    message: str


class ErrorReply(BaseModel):
    """Sent instead of a reply model when a request cannot be served; never a timeout."""

    error: ErrorBody


class HealthRequest(BaseModel):
    pass


class HealthReply(BaseModel):
    service: str
    healthy: bool
    version: str = "0.1.0"
    details: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
