"""Signed statements: what a publisher signs (EIP-191 personal message) to release, yank, deprecate and
manage the owners of a plugin, what a registry admin signs to set a version's verdict by hand, and how a
verifier turns a bad signature into a reason a person can act on.

Each statement's text is a header line `plugyard-<action>:v1` then one field per line, no trailing
newline. Fields are in canonical form so that any implementation builds the same text: names PEP 503
normalized, addresses EIP-55 checksummed, digests lower-case hex, times UTC to the second as
`YYYY-MM-DDTHH:MM:SSZ`, an absent successor as an empty line. No field may hold a line break, so one
text has exactly one reading.

Replay. A release names its CID and manifest digest, so replaying it can only re-offer the same bytes.
Yank, deprecate, owner changes and verdicts carry `issued_at`, and `verify` refuses one older than `max_age`
(10 min by default) or more than 2 min ahead of the verifier's clock; that bounds how long a signed
owner-add outlives a later removal of its signer. To close even that window, a registry keeps the
texts of the owner changes it accepted for `max_age` and refuses a repeat.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_keys.constants import SECPK1_N
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from plugyard_artifacts.keys import normalize_address

DEFAULT_MAX_AGE = timedelta(minutes=10)
ALLOWED_CLOCK_SKEW = timedelta(minutes=2)

_NORMALIZED_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_VERSION = re.compile(r"[A-Za-z0-9.+!_-]{1,64}")
_CID = re.compile(r"[A-Za-z0-9_-]{8,128}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_HEX = re.compile(r"[0-9a-fA-F]*")


class SignatureRefused(ValueError):
    """A signature that does not authorize the statement; the message says why."""


def _plugin_name(value: str) -> str:
    normalized = re.sub(r"[-_.]+", "-", value).lower()
    if not _NORMALIZED_NAME.fullmatch(normalized) or len(normalized) > 100:
        raise ValueError(f"{value!r} is not a plugin name: letters, digits and -_. between them")
    return normalized


def _version(value: str) -> str:
    if not _VERSION.fullmatch(value):
        raise ValueError(f"{value!r} is not a version: 1 to 64 of letters, digits and .+!_-")
    return value


def _cid(value: str) -> str:
    if not _CID.fullmatch(value):
        raise ValueError(f"{value!r} is not a content id")
    return value


def _sha256(value: str) -> str:
    lowered = value.lower()
    if not _SHA256.fullmatch(lowered):
        raise ValueError(f"{value!r} is not a sha256 digest: expected 64 hex digits")
    return lowered


def _one_line(value: str) -> str:
    if any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in value):
        raise ValueError("must be one line of text, without control characters")
    return value


def _utc_second(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(microsecond=0)


PluginName = Annotated[str, AfterValidator(_plugin_name)]
Version = Annotated[str, AfterValidator(_version)]
Cid = Annotated[str, AfterValidator(_cid)]
Sha256 = Annotated[str, AfterValidator(_sha256)]
Reason = Annotated[str, Field(max_length=500), AfterValidator(_one_line)]
Address = Annotated[str, AfterValidator(normalize_address)]
IssuedAt = Annotated[AwareDatetime, AfterValidator(_utc_second)]


def _timestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Statement(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    header: ClassVar[str]

    def _text(self, *fields: str) -> str:
        return "\n".join((self.header, *fields))


class ReleaseStatement(_Statement):
    """Publishes `version` of `name` as the archive `cid` with this plugin.toml digest."""

    header: ClassVar[str] = "plugyard-release:v1"
    name: PluginName
    version: Version
    cid: Cid
    manifest_sha256: Sha256

    def message_text(self) -> str:
        return self._text(self.name, self.version, self.cid, self.manifest_sha256)


class YankStatement(_Statement):
    header: ClassVar[str] = "plugyard-yank:v1"
    name: PluginName
    version: Version
    reason: Reason
    issued_at: IssuedAt

    def message_text(self) -> str:
        return self._text(self.name, self.version, self.reason, _timestamp(self.issued_at))


class DeprecateStatement(_Statement):
    header: ClassVar[str] = "plugyard-deprecate:v1"
    name: PluginName
    successor: PluginName | None
    reason: Reason
    issued_at: IssuedAt

    def message_text(self) -> str:
        return self._text(self.name, self.successor or "", self.reason, _timestamp(self.issued_at))


class OwnerAddStatement(_Statement):
    header: ClassVar[str] = "plugyard-owner-add:v1"
    name: PluginName
    address: Address
    issued_at: IssuedAt

    def message_text(self) -> str:
        return self._text(self.name, self.address, _timestamp(self.issued_at))


class OwnerRemoveStatement(_Statement):
    header: ClassVar[str] = "plugyard-owner-remove:v1"
    name: PluginName
    address: Address
    issued_at: IssuedAt

    def message_text(self) -> str:
        return self._text(self.name, self.address, _timestamp(self.issued_at))


class VerdictStatement(_Statement):
    """A registry admin clears or quarantines a version by hand, overriding the scanner's verdict."""

    header: ClassVar[str] = "plugyard-verdict:v1"
    name: PluginName
    version: Version
    verdict: Literal["cleared", "quarantined"]
    reason: Reason
    issued_at: IssuedAt

    def message_text(self) -> str:
        return self._text(self.name, self.version, self.verdict, self.reason, _timestamp(self.issued_at))


Statement = ReleaseStatement | YankStatement | DeprecateStatement | OwnerAddStatement | OwnerRemoveStatement | VerdictStatement


def sign(statement: Statement, account: LocalAccount) -> str:
    """The 65-byte EIP-191 signature of the statement's text, as 0x-prefixed hex."""
    signed = account.sign_message(encode_defunct(text=statement.message_text()))
    return "0x" + bytes(signed.signature).hex()


def recover_signer(statement: Statement, signature: str | None) -> str:
    """The checksum address whose key made `signature` over the statement's text."""
    raw = _signature_bytes(signature)
    try:
        return Account.recover_message(encode_defunct(text=statement.message_text()), signature=raw)
    except Exception as exc:  # eth-keys raises BadSignature, ValidationError, ... for points off the curve
        raise SignatureRefused(f"signature is malformed: {exc}") from None


def verify(
    statement: Statement,
    signature: str | None,
    expected_signers: Collection[str] | None,
    *,
    expected_statement: Statement | None = None,
    now: datetime | None = None,
    max_age: timedelta = DEFAULT_MAX_AGE,
) -> str:
    """Check that `signature` authorizes `statement`; return the signer's checksum address.

    `expected_signers` are the name's owners; None means the name has no owner yet, so any valid
    signer may claim it (a first publish). `expected_statement` is the statement rebuilt from what
    the verifier itself received (the CID it computed, the manifest digest it hashed); a difference
    is refused as tampering. Raises SignatureRefused with the reason.
    """
    signer = recover_signer(statement, signature)
    if expected_statement is not None:
        _check_same_statement(statement, expected_statement)
    if expected_signers is not None:
        owners = {normalize_address(owner) for owner in expected_signers}
        if not owners:
            raise SignatureRefused(f"{statement.name} has no owners, so nobody can sign for it")
        if signer not in owners:
            raise SignatureRefused(
                f"signed by {signer}, which is not an owner of {statement.name} (owners: {', '.join(sorted(owners))})"
            )
    issued_at = getattr(statement, "issued_at", None)
    if issued_at is not None:
        _check_fresh(issued_at, now or datetime.now(UTC), max_age)
    return signer


def _signature_bytes(signature: Any) -> bytes:
    if signature is None or (isinstance(signature, str) and not signature.strip()):
        raise SignatureRefused("no signature")
    if not isinstance(signature, str):
        raise SignatureRefused(f"signature is malformed: expected a hex string, got {type(signature).__name__}")
    digits = signature[2:] if signature[:2] in ("0x", "0X") else signature
    if not _HEX.fullmatch(digits):
        raise SignatureRefused("signature is malformed: not hex")
    if len(digits) != 130:
        raise SignatureRefused(f"signature is malformed: expected 65 bytes (130 hex digits), got {len(digits)} hex digits")
    raw = bytes.fromhex(digits)
    r, s, v = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"), raw[64]
    if v not in (0, 1, 27, 28):
        raise SignatureRefused(f"signature is malformed: recovery byte v is {v}, expected 27 or 28")
    # High s is refused (EIP-2) so that each statement has one signature, not two equally valid ones.
    if not (0 < r < SECPK1_N and 0 < s <= SECPK1_N // 2):
        raise SignatureRefused("signature is malformed: r or s out of range (s must be in the lower half, EIP-2)")
    # Some wallets write v as 0/1; eth-account recovers only from 27/28.
    return raw if v >= 27 else raw[:64] + bytes([v + 27])


_MISMATCH_REASONS = {
    "name": "statement is for plugin {signed}, not {received}",
    "version": "statement is for version {signed}, not {received}",
    "cid": "statement is for another CID (tampered archive?): signed {signed}, received {received}",
    "manifest_sha256": "statement is for another plugin.toml (tampered manifest?): signed sha256 {signed}, received {received}",
}


def _check_same_statement(signed: Statement, received: Statement) -> None:
    if type(signed) is not type(received):
        raise SignatureRefused(f"signed statement is a {signed.header}, expected a {received.header}")
    for field in type(signed).model_fields:
        signed_value, received_value = getattr(signed, field), getattr(received, field)
        if signed_value != received_value:
            template = _MISMATCH_REASONS.get(field, f"statement's {field} is {{signed!r}}, expected {{received!r}}")
            raise SignatureRefused(template.format(signed=signed_value, received=received_value))


def _check_fresh(issued_at: datetime, now: datetime, max_age: timedelta) -> None:
    age = now - issued_at
    if age > max_age:
        raise SignatureRefused(f"issued_at is {duration_words(age)} old (older than {duration_words(max_age)})")
    if -age > ALLOWED_CLOCK_SKEW:
        raise SignatureRefused(
            f"issued_at is {duration_words(-age)} in the future (more than {duration_words(ALLOWED_CLOCK_SKEW)}; check the signer's clock)"
        )


def duration_words(span: timedelta) -> str:
    """A span as people say it: 90 s, 5 min, 3 h, 2 days."""
    seconds = int(span.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 120 * 60:
        return f"{seconds // 60} min"
    if seconds < 48 * 3600:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"
