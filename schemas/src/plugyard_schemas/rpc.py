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


class ConsumerHealth(BaseModel):
    """One declared subscription of a service: its durable consumer's figures."""

    pending: int = Field(description="Messages in the stream for this consumer not yet processed")
    processed: int = Field(description="Messages whose outcome was committed since the service started")
    rejected: int = Field(description="Of those, recorded as MessageRejected")
    redeliveries: int
    failures: int = Field(description="Failed attempts (the consumer resumes from its recorded position after each)")
    last_progress_s: float = Field(description="Seconds since a batch was last committed (or the service started)")
    error: str | None = None


class OutboxHealth(BaseModel):
    """A service's outbox relay: events recorded but not yet in the stream."""

    backlog: int
    published: int
    last_progress_s: float
    error: str | None = None


class HealthReply(BaseModel):
    service: str
    healthy: bool
    version: str = "0.1.0"
    details: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    consumers: dict[str, ConsumerHealth] = Field(default_factory=dict, description="By durable name")
    outbox: OutboxHealth | None = None
    problems: list[str] = Field(default_factory=list, description="Why the service is unhealthy: what stopped moving")
