"""Plugyard's message models: every body that crosses the bus is one of these."""

from plugyard_schemas.cloudevent import SPEC_VERSION, CloudEvent
from plugyard_schemas.ledger import MessageRejected, SqlReply, SqlRequest, VerifyReply, VerifyRequest
from plugyard_schemas.manifest import PluginManifest, normalize_name
from plugyard_schemas.registry import (
    DeprecateReply,
    DeprecateRequest,
    InfoReply,
    InfoRequest,
    OwnerAddReply,
    OwnerAddRequest,
    PublishReply,
    PublishRequest,
    ResolveReply,
    ResolveRequest,
    ResolvedVersion,
    SearchHit,
    SearchReply,
    SearchRequest,
    VersionInfo,
    YankReply,
    YankRequest,
)
from plugyard_schemas.rpc import ErrorBody, ErrorCode, ErrorReply, HealthReply, HealthRequest

__all__ = [
    "SPEC_VERSION",
    "CloudEvent",
    "DeprecateReply",
    "DeprecateRequest",
    "ErrorBody",
    "ErrorCode",
    "ErrorReply",
    "HealthReply",
    "HealthRequest",
    "InfoReply",
    "InfoRequest",
    "MessageRejected",
    "OwnerAddReply",
    "OwnerAddRequest",
    "PluginManifest",
    "PublishReply",
    "PublishRequest",
    "ResolveReply",
    "ResolveRequest",
    "ResolvedVersion",
    "SearchHit",
    "SearchReply",
    "SearchRequest",
    "SqlReply",
    "SqlRequest",
    "VerifyReply",
    "VerifyRequest",
    "VersionInfo",
    "YankReply",
    "YankRequest",
    "normalize_name",
]
