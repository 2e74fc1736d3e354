"""The CloudEvents 1.0 envelope (JSON structured mode) that every event on the bus travels in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SPEC_VERSION = "1.0"


class CloudEvent(BaseModel):
    """A CloudEvent as published on `plugyard.evt.>`.

    Extension attributes (such as Plugyard's `aggregateid` and `aggregateversion`) are kept as extra fields.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    specversion: str = Field(pattern=r"^1\.0$", description="CloudEvents spec version; always 1.0")
    id: str = Field(min_length=1, max_length=512, description="Unique per source")
    source: str = Field(min_length=1, max_length=1024, description="URI-reference of the producer")
    type: str = Field(min_length=1, max_length=512, description="Reverse-DNS event type")
    time: datetime | None = None
    subject: str | None = Field(default=None, max_length=1024)
    datacontenttype: str | None = "application/json"
    dataschema: str | None = None
    data: Any = None

    def extensions(self) -> dict[str, Any]:
        return dict(self.model_extra or {})
