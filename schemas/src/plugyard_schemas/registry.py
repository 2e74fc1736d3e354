"""The registry's RPCs (`plugyard.rpc.registry.<verb>`). Its events travel as CloudEvents whose `data` is the
event's own fields (see `plugyard_registry.domain`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

VersionStatus = Literal["pending", "cleared", "warned", "quarantined"]
SortOrder = Literal["relevance", "name", "newest"]
Address = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
Signature = Field(min_length=2, max_length=200, pattern=r"^0x[0-9a-fA-F]*$")
Name = Field(min_length=1, max_length=100)


class PublishRequest(BaseModel):
    cid: str = Field(pattern=r"^b[a-z2-7]{8,128}$", description="CID of the archive")
    publisher: str = Address
    signature: str = Signature
    upload: str | None = Field(
        default=None, pattern=r"^upload-[0-9a-f]{32}$",
        description="Key of the archive staged in the PLUGYARD_UPLOADS bucket; the registry checks it against `cid` and stores it. "
        "Without it the archive must already be in the registry's store (republishing the same content).",
    )


class PublishReply(BaseModel):
    name: str
    version: str
    cid: str
    status: VersionStatus
    created: bool = Field(description="False when the same content was already published (idempotent)")
    owners: list[str]


class YankRequest(BaseModel):
    name: str = Name
    version: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=500)
    issued_at: AwareDatetime
    signature: str = Signature


class YankReply(BaseModel):
    name: str
    version: str
    changed: bool


class DeprecateRequest(BaseModel):
    name: str = Name
    successor: str | None = Field(default=None, max_length=100)
    reason: str = Field(default="deprecated", min_length=1, max_length=500)
    issued_at: AwareDatetime
    signature: str = Signature


class DeprecateReply(BaseModel):
    name: str
    successor: str | None
    changed: bool


class OwnerAddRequest(BaseModel):
    name: str = Name
    address: str = Address
    issued_at: AwareDatetime
    signature: str = Signature


class OwnerAddReply(BaseModel):
    name: str
    owners: list[str]
    changed: bool


class InfoRequest(BaseModel):
    name: str = Name
    version: str | None = Field(default=None, max_length=64)


class VersionInfo(BaseModel):
    version: str
    status: VersionStatus
    status_reason: str | None = None
    findings: list[dict[str, Any]] = Field(default_factory=list, description="The scanner findings behind the status (most severe first)")
    verdict_override: bool = Field(default=False, description="True when a registry admin set the status by hand")
    yanked: bool = False
    yank_reason: str | None = None
    cid: str
    size: int
    sha256: str
    manifest_sha256: str
    publisher: str
    signature: str = Field(description="The publisher's signature of the release statement (loaders verify it again)")
    published_at: datetime
    summary: str
    host: str
    requires: list[str]
    dependencies: list[str]
    permissions: dict[str, Any]
    manifest: dict[str, Any]


class VerdictRequest(BaseModel):
    """A registry admin sets a version's verdict by hand (signed `VerdictStatement`)."""

    name: str = Name
    version: str = Field(min_length=1, max_length=64)
    verdict: Literal["cleared", "quarantined"]
    reason: str = Field(min_length=1, max_length=500)
    issued_at: AwareDatetime
    signature: str = Signature


class VerdictReply(BaseModel):
    name: str
    version: str
    status: VersionStatus
    changed: bool
    by: str


class RuntimeQuarantineRequest(BaseModel):
    """A loader reports that a version attempted what it did not declare; the registry quarantines it."""

    name: str = Name
    version: str = Field(min_length=1, max_length=64)
    host: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
    reason: str = Field(min_length=1, max_length=500)


class RuntimeQuarantineReply(BaseModel):
    name: str
    version: str
    status: VersionStatus
    changed: bool


class InfoReply(BaseModel):
    name: str
    owners: list[str]
    deprecated: bool = False
    successor: str | None = None
    deprecation_reason: str | None = None
    latest: str | None = Field(default=None, description="Newest installable version")
    versions: list[VersionInfo]


class SearchRequest(BaseModel):
    text: str | None = Field(default=None, max_length=500)
    categories: list[str] = Field(default_factory=list, max_length=20)
    keywords: list[str] = Field(default_factory=list, max_length=20)
    licenses: list[str] = Field(default_factory=list, max_length=20)
    authors: list[str] = Field(default_factory=list, max_length=20)
    publisher: str | None = Field(default=None, max_length=42)
    with_permissions: list[str] = Field(default_factory=list, max_length=5)
    without_permissions: list[str] = Field(default_factory=list, max_length=5)
    host_version: str | None = Field(default=None, max_length=32)
    statuses: list[VersionStatus] | None = None
    include_yanked: bool = False
    sort: SortOrder = "relevance"
    limit: int = Field(default=20, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class SearchHit(BaseModel):
    name: str
    version: str
    score: float
    summary: str
    status: VersionStatus
    yanked: bool
    keywords: list[str]
    categories: list[str]
    license: str | None
    publisher: str
    permissions: list[str]
    published_at: datetime


class SearchReply(BaseModel):
    total: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]]


class ResolveRequest(BaseModel):
    requirements: list[str] = Field(min_length=1, max_length=100)
    host_version: str = Field(default="1.0", max_length=32)


class ResolvedVersion(BaseModel):
    name: str
    version: str
    cid: str
    status: VersionStatus
    yanked: bool


class ResolveReply(BaseModel):
    install_order: list[ResolvedVersion]


class ExportRequest(BaseModel):
    offset: int = Field(default=0, ge=0, le=10_000_000)
    limit: int = Field(default=500, ge=1, le=1000, description="Entries per page; a page stays well under NATS' default 1 MB payload")


class ExportEntry(BaseModel):
    """One version as another registry imports it: its archive is fetched by CID and its publisher's signature checked again."""

    name: str = Name
    version: str = Field(min_length=1, max_length=64)
    cid: str = Field(pattern=r"^b[a-z2-7]{8,128}$")
    size: int = Field(ge=0)
    manifest_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    publisher: str = Address
    signature: str = Signature
    yanked: bool = False
    yank_reason: str | None = Field(default=None, max_length=500)
    published_at: AwareDatetime


class ExportReply(BaseModel):
    total: int
    entries: list[ExportEntry]
    next_offset: int | None = Field(default=None, description="Offset of the next page; None after the last one")


EXPORT_FORMAT = "plugyard-export/v1"


class ExportIndex(BaseModel):
    """`index.json` of an export directory (`plugyard registry export DIR`); archives are beside it as `archives/<cid>.tar.gz`."""

    format: Literal["plugyard-export/v1"] = EXPORT_FORMAT
    exported_at: AwareDatetime
    entries: list[ExportEntry]
