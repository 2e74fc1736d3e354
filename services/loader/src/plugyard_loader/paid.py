"""Paid plugins at install: the account a client proves (a signature over a fresh challenge from this host) and the
marketplace's word on whether that account may install a priced plugin.

The loader never talks to a chain: it asks the marketplace (`plugyard.rpc.marketplace.entitlement`), the only
service allowed to answer there (the bus lets no other identity subscribe to `plugyard.rpc.marketplace.>`).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from eth_account import Account
from eth_account.messages import encode_defunct
from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.js.errors import NotFoundError

from plugyard_core.rpc import RpcError, ServiceUnavailable, call
from plugyard_core.streams import EVENTS_STREAM, event_subject, rpc_subject
from plugyard_schemas.loader import AccountProof, ChallengeReply, install_challenge_message
from plugyard_schemas.manifest import normalize_name
from plugyard_schemas.marketplace import EntitlementReply, EntitlementRequest

log = logging.getLogger("plugyard.loader.paid")

CHALLENGE_TTL_S = 120.0
# Outstanding challenges kept at most; past that the oldest is forgotten. A flood of challenge requests costs
# at most this many entries (~200 bytes each), and pushes out only challenges older than the flood.
MAX_CHALLENGES = 10_000
ZERO_ADDRESS = "0x" + "0" * 40
ENTITLEMENT_SUBJECT = rpc_subject("marketplace", "entitlement")
ENTITLEMENT_TIMEOUT_S = 5.0
MARKETPLACE_SUBJECT = event_subject("marketplace", "BlocksMirrored")
WEI_PER_ETH = Decimal(10) ** 18


class ProofRefused(RpcError):
    def __init__(self, message: str) -> None:
        super().__init__("refused", f"the account proof is refused: {message}")


class ChallengeBook:
    """Challenges this host issued and has not yet seen used: single use, expiring, bounded in number."""

    def __init__(
        self, host: str, *, ttl_s: float = CHALLENGE_TTL_S, capacity: int = MAX_CHALLENGES,
        clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.host = host
        self.ttl_s = ttl_s
        self.capacity = capacity
        self._clock = clock
        self._wall = wall_clock
        self._expiry: OrderedDict[str, float] = OrderedDict()  # challenge -> monotonic deadline, oldest first

    def __len__(self) -> int:
        return len(self._expiry)

    def issue(self) -> ChallengeReply:
        now = self._clock()
        self._forget_expired(now)
        while len(self._expiry) >= self.capacity:
            self._expiry.popitem(last=False)
        challenge = "0x" + secrets.token_hex(32)
        self._expiry[challenge] = now + self.ttl_s
        expires_at = self._wall() + timedelta(seconds=self.ttl_s)
        return ChallengeReply(challenge=challenge, expires_at=expires_at.isoformat(timespec="seconds").replace("+00:00", "Z"))

    def verify(self, proof: AccountProof) -> str:
        """The proven account (EIP-55 checksummed); the challenge is spent. Raise ProofRefused otherwise.

        The challenge is spent only by a proof that holds, so a forged proof sent by someone who saw it cannot burn
        the owner's challenge. Nothing here awaits: checking and spending are one step on the event loop."""
        now = self._clock()
        self._forget_expired(now)
        deadline = self._expiry.get(proof.challenge)
        if deadline is None:
            raise ProofRefused(
                f"challenge {proof.challenge[:10]}… was not issued by loader {self.host}, was already used, or has expired "
                f"(challenges last {self.ttl_s:g} s): ask for a new one"
            )
        message = encode_defunct(text=install_challenge_message(self.host, proof.challenge))
        try:
            signer = Account.recover_message(message, signature=proof.signature)
        except Exception as exc:  # eth-account raises several types for a malformed signature
            raise ProofRefused(f"the signature is malformed ({exc})") from None
        if signer.lower() != proof.account.lower():
            raise ProofRefused(
                f"the signature is not {proof.account}'s over this host's challenge message (it recovers to {signer}): "
                f"sign install_challenge_message('{self.host}', challenge) with that account's key"
            )
        del self._expiry[proof.challenge]
        return signer

    def _forget_expired(self, now: float) -> None:
        # Deadlines grow with insertion order (a constant TTL on a monotonic clock): expired ones are at the front.
        while self._expiry:
            challenge, deadline = next(iter(self._expiry.items()))
            if deadline > now:
                return
            del self._expiry[challenge]


def eth_amount(wei: int) -> str:
    """`0.01 ETH`: the exact amount, no trailing zeros."""
    text = format(Decimal(wei) / WEI_PER_ETH, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} ETH"


class PaymentRequired(RpcError):
    def __init__(self, name: str, version: str, price_wei: int, account: str | None) -> None:
        who = f"account {account} has not bought it" if account else "no account was proven (install with --key)"
        super().__init__(
            "refused",
            f"{name} {version} is a paid plugin ({eth_amount(price_wei)}, {price_wei} wei) and {who}: buy it with "
            f"'plugyard market buy {name} --key K', then install it with 'plugyard install {name} --key K'",
        )


class MarketplaceGate:
    """Whether an account may install a plugin, asked of the marketplace.

    Decision: no marketplace at all (no service answers on its subject, e.g. the stack runs without a chain) means
    no plugin is sold on this platform, so install proceeds exactly as it did before paid plugins. Once a marketplace
    exists we fail closed: an error reply, a malformed reply, a timeout (someone subscribes there, and only the
    marketplace may), or nobody answering when a marketplace has answered this loader before, or has ever mirrored a
    plugin on this bus (it is down, not absent), refuses the install. Letting a priced plugin through because the
    marketplace is unreachable would make every plugin free for as long as it is."""

    def __init__(self, nc: Client, *, timeout_s: float | None = None) -> None:
        self.nc = nc
        self.timeout_s = timeout_s
        self.seen = False  # the marketplace has answered this loader (since it started)

    async def check(self, name: str, version: str, account: str | None) -> None:
        """Raise RpcError unless `account` (None: no proof) may install `name`."""
        asked = account or ZERO_ADDRESS
        reply = await self._ask(name, version, asked)
        if reply is None:
            return
        if normalize_name(reply.name) != normalize_name(name) or reply.account.lower() != asked.lower():
            raise RpcError("unavailable", f"the marketplace answered about {reply.name} for {reply.account}, not {name} for {asked}; "
                           f"{name} {version} is not installed")
        price = int(reply.price_wei)
        if reply.listed and price > 0 and not reply.entitled:
            raise PaymentRequired(name, version, price, account)

    async def _ask(self, name: str, version: str, account: str) -> EntitlementReply | None:
        timeout = self.timeout_s if self.timeout_s is not None else ENTITLEMENT_TIMEOUT_S
        refused = f"cannot tell whether {name} {version} is paid for, so it is not installed"
        try:
            reply = await call(self.nc, ENTITLEMENT_SUBJECT, EntitlementRequest(name=name, account=account), EntitlementReply, timeout=timeout)
        except ServiceUnavailable as exc:
            # `call` raises ServiceUnavailable from the server's "no responders" (inside its except clause, so the
            # NATS error stays the exception's __context__) and from a timeout: only the first means no marketplace.
            if isinstance(exc.__context__, NoRespondersError) and not self.seen:
                if not await self._marketplace_ran():
                    return None  # no marketplace on this platform: nothing is sold
                self.seen = True
                raise RpcError("unavailable", f"no marketplace answers, but one has run on this bus (it mirrored a chain): {refused}") from None
            again = "the marketplace answered this loader before but not now" if self.seen else "the marketplace did not answer"
            raise RpcError("unavailable", f"{again} ({exc.message}): {refused}") from None
        except RpcError as exc:  # an error reply, or a reply that is not an EntitlementReply
            self.seen = True
            raise RpcError("unavailable", f"the marketplace answered {exc.code}: {exc.message}; {refused}") from None
        self.seen = True
        return reply

    async def _marketplace_ran(self) -> bool:
        """Whether a marketplace ever ran on this bus (a BlocksMirrored event in the events stream, which keeps every
        event: its first step is always stored). It closes the gap of a loader that (re)starts while the marketplace is
        down or not yet up: "nobody answers" means "nothing is sold" only where no marketplace ever mirrored a chain."""
        try:
            await self.nc.jetstream().get_last_msg(EVENTS_STREAM, MARKETPLACE_SUBJECT)
        except NotFoundError:  # no such message, or no events stream at all: nothing was listed
            return False
        except Exception as exc:  # cannot tell: fail closed
            log.warning("could not look for marketplace listings in %s: %s", EVENTS_STREAM, exc)
            return True
        return True
