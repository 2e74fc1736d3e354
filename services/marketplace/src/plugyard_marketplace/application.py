"""The marketplace application: stores the indexer's steps and the accepted reviews, and keeps the market view
that the RPCs answer from. The view is rebuilt from the event store when the service starts.

Only the mirror of the chain and contracts the service uses now counts: a chain started afresh (new contract
addresses) is a new mirror, and the old one's facts are left aside.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from plugyard_core.eventstore import PlugyardApplication
from plugyard_marketplace.domain import ChainMirror, InstallSeen, ReviewOf, mirror_id, review_id
from plugyard_marketplace.indexer import ChainFact, Cursor, Step
from plugyard_marketplace.market_view import MarketView, Purchase
from plugyard_marketplace.reviews import AcceptedReview, ReviewBook
from plugyard_schemas.marketplace import ReviewReply, ReviewRequest

SERVICE = "marketplace"
CURSOR_EVERY_BLOCKS = 1_000  # a step with no facts is stored only this often (a restart re-reads the rest)


@dataclass(frozen=True)
class MirrorKey:
    chain_id: int
    registry: str
    shop: str
    start_block: int = 0

    @property
    def id(self) -> UUID:
        return mirror_id(self.chain_id, self.registry, self.shop)


class MarketplaceApplication(PlugyardApplication):
    service = SERVICE

    def __init__(self, *args: Any, mirror: MirrorKey | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lock = threading.RLock()
        self.key = mirror
        self.view = MarketView()
        self.reviews = ReviewBook()
        self.installers: dict[str, set[str]] = {}
        self.mirror: ChainMirror | None = None
        start = 0
        while notifications := self.recorder.select_notifications(start=start, limit=1000, inclusive_of_start=False):
            self._apply([self.mapper.to_domain_event(n) for n in notifications])
            start = notifications[-1].id
        if mirror is not None:
            try:
                self.mirror = self.repository.get(mirror.id)
            except Exception:  # eventsourcing's AggregateNotFoundError: nothing mirrored yet
                self.mirror = None
        self._saved_block = self.mirror.block if self.mirror else -1

    def cloudevent_subject(self, event: Any) -> str | None:
        name = getattr(event, "name", None)
        return name or str(event.originator_id)

    # ---- the mirror

    def cursor(self) -> Cursor:
        with self.lock:
            if self.mirror is None:
                return Cursor(self.key.start_block - 1 if self.key else -1, {})
            return Cursor(self.mirror.block, {int(n): h for n, h in self.mirror.hashes.items()})

    def record_step(self, step: Step) -> list[Purchase]:
        """Store one indexer step (facts and cursor in one event); returns the purchases a reorg took away."""
        if self.key is None:
            raise RuntimeError("the marketplace application was built without a chain to mirror")
        with self.lock:
            if self.mirror is None:
                self.mirror = ChainMirror(self.key.chain_id, self.key.registry, self.key.shop, self.key.start_block)
            hashes = {str(n): h for n, h in step.cursor.hashes.items()}
            gone: list[Purchase] = []
            if step.reverted_to is not None:
                gone = [p for p in self.view.purchases.values() if p.block_number > step.reverted_to]
                self.mirror.reorganised(step.reverted_to, hashes, [vars(p) for p in gone])
            elif step.added or step.cursor.block - self._saved_block >= CURSOR_EVERY_BLOCKS or self._saved_block < 0:
                self.mirror.mirrored(step.cursor.block, hashes, [f.to_json() for f in step.added])
            else:
                self.mirror.block, self.mirror.hashes = step.cursor.block, hashes  # kept in memory only
                return gone
            self.save(self.mirror)
            self._saved_block = step.cursor.block
            return gone

    # ---- reviews

    def accept_review(self, request: ReviewRequest, recovered_account: str, verified_by: str | None) -> ReviewReply:
        """Decide on a checked review (`ReviewRefused` when refused), store it, and take it into the book."""
        with self.lock:
            accepted = self.reviews.decide(request, recovered_account, verified_by)
            if accepted.replaced:
                aggregate: ReviewOf = self.repository.get(review_id(accepted.name, accepted.version, accepted.account))
                aggregate.replace(**accepted.event_fields())
            else:
                aggregate = ReviewOf(**accepted.event_fields())
            self.save(aggregate)
            return accepted.reply()

    # ---- installs the loaders proved an account for

    def install_seen(self, name: str, account: str, host: str, version: str) -> InstallSeen | None:
        """The aggregate recording that `account` installed `name` (None when that is known already)."""
        if account.lower() in self.installers.get(name, set()):
            return None
        return InstallSeen(name=name, account=account.lower(), host=host, version=version)

    # ---- the view

    def _notify(self, recordings: list[Any]) -> None:
        self._apply([recording.domain_event for recording in recordings])

    def _apply(self, events: list[Any]) -> None:
        for event in events:
            kind = type(event).__name__
            if kind in ("BlocksMirrored", "ChainReorganised"):
                if self.key is None or event.originator_id != self.key.id:
                    continue
                if kind == "BlocksMirrored":
                    self.view.add([ChainFact.from_json(f) for f in event.facts])
                else:
                    self.view.revert_after(event.ancestor_block)
            elif kind == "InstallRecorded":
                self.installers.setdefault(event.name, set()).add(event.account)
            elif kind in ("ReviewAccepted", "ReviewReplaced"):
                self.reviews.apply(AcceptedReview.from_event(vars(event)))
