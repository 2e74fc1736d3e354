"""The Plugyard plugin SDK (host API 1.0): the only Plugyard code a plugin imports.

    from plugyard_sdk import Plugin, action, get_logger

    log = get_logger(__name__)

    class Greeter(Plugin):
        @action
        def hello(self, name: str) -> dict:
            log.info("greeting %s", name)
            return {"greeting": f"Hello, {name}!"}

The manifest's `entry` names the class. Actions take JSON arguments by name and return JSON; raising a
`PluginError` (or a subclass) reaches the caller as a typed error. The host provides this package to every
plugin worker, matched by the manifest's `host` range, so plugins do not list it among their dependencies.
"""

from plugyard_sdk.actions import ActionSpec, action, actions_of
from plugyard_sdk.errors import InvalidArguments, InvalidResult, PluginError, UnknownAction
from plugyard_sdk.invoke import invoke
from plugyard_sdk.logs import LOGGER_PREFIX, get_logger
from plugyard_sdk.plugin import Plugin

HOST_API = "1.0"

__all__ = [
    "HOST_API",
    "LOGGER_PREFIX",
    "ActionSpec",
    "InvalidArguments",
    "InvalidResult",
    "Plugin",
    "PluginError",
    "UnknownAction",
    "action",
    "actions_of",
    "get_logger",
    "invoke",
]
