"""The chain indexer: mirrors the logs of the marketplace's contracts, block range by block range, once each block
is `confirmations` deep, and notices when the chain it mirrored has been reorganised.

A block hash commits to its parent, so the hash of the last block mirrored vouches for every block before it:
each step checks that one hash first. When it has changed, the step walks back through the hashes it kept to the
newest block the chain still has, and everything mirrored after that block is reverted (then mirrored again from
the new branch by the next steps). Nothing here does I/O of its own: a `ChainReader` answers the questions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

KEEP_HASHES = 256  # recent block hashes kept for walking back after a reorg
DEFAULT_MAX_RANGE = 2_000  # blocks per eth_getLogs


@dataclass(frozen=True)
class ChainFact:
    """One log of the marketplace's contracts, decoded. `args` holds JSON-safe values (uint256 as decimal strings)."""

    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    contract: str  # "registry" or "shop"
    event: str
    args: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.tx_hash}:{self.log_index}"

    def to_json(self) -> dict[str, Any]:
        return {"block_number": self.block_number, "block_hash": self.block_hash, "tx_hash": self.tx_hash,
                "log_index": self.log_index, "contract": self.contract, "event": self.event, "args": self.args}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChainFact:
        return cls(**data)


class ChainReader(Protocol):
    def head(self) -> int: ...
    def block_hash(self, number: int) -> str | None: ...
    def facts(self, first: int, last: int) -> list[ChainFact]: ...


@dataclass
class Cursor:
    """How far the mirror goes: the last block mirrored and the hashes of recent blocks it mirrored."""

    block: int = -1
    hashes: dict[int, str] = field(default_factory=dict)

    def advanced(self, block: int, block_hash: str, fact_blocks: dict[int, str]) -> Cursor:
        hashes = {**self.hashes, **fact_blocks, block: block_hash}
        kept = dict(sorted(hashes.items())[-KEEP_HASHES:])
        return Cursor(block, kept)

    def reverted(self, ancestor: int) -> Cursor:
        return Cursor(ancestor, {n: h for n, h in self.hashes.items() if n <= ancestor})


@dataclass(frozen=True)
class Step:
    """What one step found: either new facts up to `cursor.block`, or a reorg back to `reverted_to`."""

    cursor: Cursor
    added: tuple[ChainFact, ...] = ()
    reverted_to: int | None = None


class Indexer:
    def __init__(self, reader: ChainReader, *, confirmations: int, start_block: int = 0, max_range: int = DEFAULT_MAX_RANGE) -> None:
        if confirmations < 0 or max_range < 1:
            raise ValueError("confirmations must be ≥ 0 and max_range ≥ 1")
        self.reader = reader
        self.confirmations = confirmations
        self.start_block = start_block
        self.max_range = max_range

    def step(self, cursor: Cursor) -> Step | None:
        """The next step from `cursor`, or None when there is nothing new to mirror (or the chain moved under the
        step's feet: the next call tries again)."""
        if cursor.block >= self.start_block and self.reader.block_hash(cursor.block) != cursor.hashes.get(cursor.block):
            ancestor = self._ancestor(cursor)
            return Step(cursor=cursor.reverted(ancestor), reverted_to=ancestor)
        target = self.reader.head() - self.confirmations
        first = max(cursor.block + 1, self.start_block)
        if target < first:
            return None
        last = min(target, first + self.max_range - 1)
        last_hash = self.reader.block_hash(last)
        facts = self.reader.facts(first, last)
        # The same hash of `last` before and after reading the logs: the chain up to it did not change in between,
        # so every log read is on it (a block hash commits to all its ancestors). Otherwise, try again next time.
        if last_hash is None or self.reader.block_hash(last) != last_hash:
            return None
        fact_blocks = {f.block_number: f.block_hash for f in facts}
        if any(f.block_number > last for f in facts):
            return None
        ordered = tuple(sorted(facts, key=lambda f: (f.block_number, f.log_index)))
        return Step(cursor=cursor.advanced(last, last_hash, fact_blocks), added=ordered)

    def _ancestor(self, cursor: Cursor) -> int:
        """The newest block mirrored that the chain still has (start_block - 1 when none of the kept ones is)."""
        for number in sorted(cursor.hashes, reverse=True):
            if number < cursor.block and self.reader.block_hash(number) == cursor.hashes[number]:
                return number
        return self.start_block - 1
