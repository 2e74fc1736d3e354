"""Reviews: signed statements from accounts that bought or installed a plugin. Rules only; no I/O, no chain.

A review reaches the marketplace as a `ReviewRequest`: the reviewer's key signs `review_message(...)` (EIP-191
personal message) over the plugin version, the stars, the text, its own account, when it signed, the chain id and the
shop's address, so a signature is good for one review on one marketplace only. The service takes a review in three
steps, each refusing with a one-line reason (`ReviewRefused`):

1. `verify_review`: the statement is well formed, fresh, and signed by the account it names.
2. `verified_by` / `require_verified_use`: the account bought the plugin (an entitlement indexed from the chain) or a
   loader installed it for that account (a proven install). The plugin's publisher may not review its own plugin,
   even when it also bought or installed it: buying one's own plugin costs the publisher nothing but the shop's fee,
   so it proves no use by anyone else.
3. `ReviewBook.decide` then `ReviewBook.apply` (or `submit`, both at once): one review per (account, plugin, version);
   a later one (a later `issued_at`) replaces it; a statement not later than the one held is refused, and a signature
   already accepted is refused as a replay, for as long as the book lives, even after its review was replaced.

The book is the read model the service rebuilds from its event store: each accepted review is stored as an event
carrying `AcceptedReview.event_fields()`, and `ReviewBook.apply(AcceptedReview.from_event(fields))` over the events in
order gives back the same book, replay protection included (it needs every accepted signature, replaced ones too).
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from typing import Any, Literal

from eth_account import Account
from eth_account.messages import encode_defunct
from packaging.version import InvalidVersion, Version
from pydantic import ConfigDict

from plugyard_artifacts.signing import duration_words
from plugyard_schemas.manifest import plugin_name
from plugyard_schemas.marketplace import Review, ReviewAccepted, ReviewReply, ReviewRequest, review_message

# A review signed up to this far ahead of the marketplace's clock is taken (clocks drift); further is refused.
FUTURE_TOLERANCE = timedelta(minutes=2)
# What the service passes as `max_age` unless configured otherwise: long enough to sign and send, short enough that a
# statement captured on its way is soon useless (a replay of an accepted one is refused anyway, at any age).
DEFAULT_MAX_AGE = timedelta(minutes=10)

VerifiedUse = Literal["purchase", "install"]
VERIFIED_USES: tuple[str, ...] = ("purchase", "install")

_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
# Shown one way and stored another: right-to-left overrides and isolates, which can make a review read as something else.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class ReviewRefused(ValueError):
    """A review the rules refuse; `reason` is one line naming what is wrong."""

    code = "refused"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- 1. the statement ----------------------------------------------------------------------------------------------


def parse_issued_at(text: str) -> datetime:
    """`issued_at` as an aware datetime; `ReviewRefused` when it is not ISO 8601 with a time zone."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise ReviewRefused(f"issued_at {text!r} is not an ISO 8601 time (for example 2026-11-25T10:00:00Z)") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ReviewRefused(f"issued_at {text!r} has no time zone (add Z or +00:00)")
    return moment


def verify_review(request: ReviewRequest, *, chain_id: int, shop: str, now: datetime, max_age: timedelta) -> str:
    """The account that signed `request` (lower-case 0x address), or `ReviewRefused` naming what is wrong.

    `now` must be an aware datetime (the marketplace's clock); `shop` is the address of the Shop contract this
    marketplace serves and `chain_id` its chain: a review signed for another chain or shop does not verify.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    _check_plugin(request.name, request.version)
    if not 1 <= request.stars <= 5:
        raise ReviewRefused(f"stars must be 1 to 5, not {request.stars}")
    _check_text(request.text)
    issued_at = parse_issued_at(request.issued_at)
    age = now - issued_at
    if age > max_age:
        raise ReviewRefused(f"review is stale: issued {duration_words(age)} ago, more than {duration_words(max_age)}; sign it again")
    if -age > FUTURE_TOLERANCE:
        raise ReviewRefused(
            f"review is issued {duration_words(-age)} in the future (more than {duration_words(FUTURE_TOLERANCE)}); check the signer's clock"
        )
    claimed = request.account.lower()
    signature = _signature_bytes(request.signature)
    message = review_message(request.name, request.version, request.stars, request.text, claimed, request.issued_at, chain_id, shop)
    try:
        recovered = Account.recover_message(encode_defunct(text=message), signature=signature).lower()
    except Exception as exc:  # eth-keys raises several types for a signature that names no point on the curve
        raise ReviewRefused(f"signature does not recover any account: {exc}") from None
    if recovered != claimed:
        raise ReviewRefused(
            f"signature is not {claimed}'s for this review (forged, or signed for another text, chain or shop): it recovers {recovered}"
        )
    return recovered


def _check_plugin(name: str, version: str) -> None:
    try:
        canonical = plugin_name(name)
    except ValueError as exc:
        raise ReviewRefused(f"name: {exc}") from None
    if canonical != name:
        raise ReviewRefused(f"name {name!r} is not in normalized form: sign the review for {canonical!r}")
    try:
        canonical_version = str(Version(version))
    except InvalidVersion:
        raise ReviewRefused(f"version {version!r} is not a PEP 440 version") from None
    if canonical_version != version:
        raise ReviewRefused(f"version {version!r} is not in normalized form: sign the review for {canonical_version!r}")


def _check_text(text: str) -> None:
    for index, char in enumerate(text):
        if char in "\n\t":
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cs", "Zl", "Zp") or char in _BIDI_CONTROLS:
            raise ReviewRefused(
                f"text has a control character U+{ord(char):04X} at position {index}: only newline and tab are allowed"
            )


def _signature_bytes(signature: str) -> bytes:
    digits = signature[2:] if signature[:2] in ("0x", "0X") else signature
    try:
        raw = bytes.fromhex(digits)
    except ValueError:
        raise ReviewRefused("signature is malformed: not hex") from None
    if len(raw) != 65:
        raise ReviewRefused(f"signature is malformed: expected 65 bytes, got {len(raw)}")
    r, s, v = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"), raw[64]
    if v not in (0, 1, 27, 28):
        raise ReviewRefused(f"signature is malformed: recovery byte v is {v}, expected 27 or 28")
    # A high s (EIP-2) is refused so that a signature has one form: (r, n - s) would otherwise be a second valid
    # signature of the same review and slip past the replay check.
    if not (0 < r < _SECP256K1_N and 0 < s <= _SECP256K1_N // 2):
        raise ReviewRefused("signature is malformed: r or s out of range (s must be in the lower half, EIP-2)")
    return raw if v >= 27 else raw[:64] + bytes([v + 27])


def signature_key(signature: str) -> str:
    """One spelling per signature, to recognise a replay: lower-case hex with 0x, v as 27/28."""
    return "0x" + _signature_bytes(signature).hex()


# --- 2. verified use -----------------------------------------------------------------------------------------------


def verified_by(account: str, name: str, *, purchasers: set[str], installers: set[str], publisher: str | None) -> str | None:
    """How `account`'s use of plugin `name` is proven: "purchase", "install", or None (refuse).

    `purchasers` are the accounts with an entitlement indexed from the chain, `installers` the accounts a loader
    installed the plugin for; addresses compare case-insensitively. A purchase is preferred when both hold (it weighs
    more in the reputation). The publisher never qualifies: see `require_verified_use` for the reasons to give.
    """
    del name  # the sets are this plugin's; the name is for the caller's reasons
    who = account.lower()
    if publisher is not None and who == publisher.lower():
        return None
    if who in {address.lower() for address in purchasers}:
        return "purchase"
    if who in {address.lower() for address in installers}:
        return "install"
    return None


def require_verified_use(account: str, name: str, *, purchasers: set[str], installers: set[str], publisher: str | None) -> str:
    """`verified_by`, or `ReviewRefused` with the reason to give the reviewer."""
    use = verified_by(account, name, purchasers=purchasers, installers=installers, publisher=publisher)
    if use is not None:
        return use
    if publisher is not None and account.lower() == publisher.lower():
        raise ReviewRefused(f"{account.lower()} publishes {name} and may not review its own plugin")
    raise ReviewRefused(
        f"{account.lower()} has neither bought nor installed {name}: a review is accepted only from an address that bought"
        " the plugin or whose loader installed it"
    )


# --- 3. the book ---------------------------------------------------------------------------------------------------


class AcceptedReview(ReviewAccepted):
    """A review the book holds: the `ReviewAccepted` event's fields (all the book needs to be rebuilt from the events
    alone: `text` to show it, `issued_at` to order and replace, `signature` to refuse a replay after a restart,
    `replaces` informative), with what the book does with them."""

    model_config = ConfigDict(frozen=True)

    @property
    def replaced(self) -> bool:
        return self.replaces is not None

    def review(self) -> Review:
        return Review(
            name=self.name, version=self.version, account=self.account, stars=self.stars, text=self.text,
            issued_at=self.issued_at, verified_by=self.verified_by,  # type: ignore[arg-type]
        )

    def reply(self) -> ReviewReply:
        return ReviewReply(accepted=True, replaced=self.replaced, verified_by=self.verified_by)

    def event_fields(self) -> dict[str, Any]:
        return self.model_dump()

    @classmethod
    def from_event(cls, fields: dict[str, Any]) -> AcceptedReview:
        known = {key: fields[key] for key in cls.model_fields if key in fields}
        return cls(**known)


class ReviewBook:
    """The reviews the marketplace holds: one per (account, plugin, version), and every signature ever accepted."""

    def __init__(self) -> None:
        self._held: dict[tuple[str, str, str], tuple[datetime, AcceptedReview]] = {}
        self._by_name: dict[str, set[tuple[str, str, str]]] = {}
        self._used: dict[str, AcceptedReview] = {}  # signature_key -> the review it signed

    def decide(self, request: ReviewRequest, recovered_account: str, verified_by: str | None) -> AcceptedReview:
        """The review to record if `request` is accepted (the book is not changed), or `ReviewRefused`.

        `recovered_account` is what `verify_review` returned and `verified_by` what `verified_by(...)` did.
        """
        account = request.account.lower()
        if recovered_account.lower() != account:
            raise ReviewRefused(f"review names {account} but was signed by {recovered_account.lower()}")
        if verified_by not in VERIFIED_USES:
            raise ReviewRefused(
                f"{account} has no verified use of {request.name} ({verified_by!r}): a review is accepted only from an"
                " address that bought the plugin or whose loader installed it"
            )
        signature = signature_key(request.signature)
        used = self._used.get(signature)
        if used is not None:
            raise ReviewRefused(
                f"replay: this signature was already accepted (the review of {used.name}=={used.version} by {used.account}"
                f" issued at {used.issued_at}); sign a new review"
            )
        issued_at = parse_issued_at(request.issued_at)
        key = (account, request.name, request.version)
        held = self._held.get(key)
        if held is not None and issued_at <= held[0]:
            raise ReviewRefused(
                f"{account} already has a review of {request.name}=={request.version} issued at {held[1].issued_at};"
                f" one issued at {request.issued_at} is not later, so it cannot replace it"
            )
        return AcceptedReview(
            name=request.name, version=request.version, account=account, stars=request.stars, text=request.text,
            issued_at=request.issued_at, verified_by=verified_by, signature=signature,
            replaces=None if held is None else held[1].signature,
        )

    def apply(self, accepted: AcceptedReview) -> None:
        """Take a decided review (after its event is stored), or one read back from the event store, in order."""
        key = (accepted.account, accepted.name, accepted.version)
        self._held[key] = (parse_issued_at(accepted.issued_at), accepted)
        self._by_name.setdefault(accepted.name, set()).add(key)
        self._used[accepted.signature] = accepted

    def submit(self, request: ReviewRequest, recovered_account: str, verified_by: str | None) -> ReviewReply:
        """`decide` and `apply` at once; `ReviewRefused` when refused."""
        accepted = self.decide(request, recovered_account, verified_by)
        self.apply(accepted)
        return accepted.reply()

    def reviews(self, name: str, version: str | None = None) -> list[Review]:
        """The reviews held for plugin `name` (of one version, when given), newest first."""
        held = [self._held[key] for key in self._by_name.get(name, ()) if version is None or key[2] == version]
        held.sort(key=lambda item: (item[0], item[1].account, item[1].version), reverse=True)
        return [accepted.review() for _, accepted in held]

    def signatures_used(self) -> int:
        return len(self._used)
