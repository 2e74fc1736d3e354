"""Errors a plugin raises, and the SDK raises on its behalf, that reach the caller with their code."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class PluginError(Exception):
    """An error the caller should see: `code` (a short machine-readable word), `message`, optional JSON `details`."""

    code = "plugin_error"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class UnknownAction(PluginError):
    code = "unknown_action"


class InvalidArguments(PluginError):
    code = "invalid_arguments"


class InvalidResult(PluginError):
    code = "invalid_result"
