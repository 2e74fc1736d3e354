"""An export discovery source: poll another registry's export (`index.json` + `archives/<cid>.tar.gz`) and import
each version not yet here, under its original publisher's signature, so that name claims carry over.

Polls are conditional (ETag / Last-Modified; an unchanged body is recognized too, for `file://` URLs). The
validators are kept only after a poll that left nothing to retry, so a failed fetch is tried again next time.
An entry refused for good (tampered, forged, in conflict with this registry, yanked) is logged once and not
fetched again until the entry changes. Yanks are not carried over (the export has no signed yank to check).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from nats.aio.client import Client
from pydantic import ValidationError

from plugyard_artifacts.keys import normalize_address
from plugyard_core.artifact_store import max_artifact_bytes
from plugyard_core.rpc import RpcError, describe_validation_error
from plugyard_registry.handlers import RegistryContext
from plugyard_registry.import_check import ImportRefused, verified_release
from plugyard_registry.local_publish import foreseeable_refusal, publish_release
from plugyard_registry.sources_config import ExportSource
from plugyard_registry.sources_http import FetchFailed, fetch
from plugyard_schemas.registry import EXPORT_FORMAT, ExportEntry

log = logging.getLogger("plugyard.registry.sources")

INDEX_LIMIT = 64 * 1024 * 1024
PERMANENT_CODES = {"conflict", "refused", "invalid_request"}


@dataclass
class PollOutcome:
    modified: bool = True
    imported: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def entry_key(raw: Any) -> str:
    return hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()


def describe(entry: ExportEntry) -> str:
    return f"{entry.name} {entry.version} ({entry.cid})"


class ExportSourcePoller:
    def __init__(self, ctx: RegistryContext, source: ExportSource) -> None:
        self.ctx = ctx
        self.source = source
        self.etag: str | None = None
        self.last_modified: str | None = None
        self.digest: str | None = None
        self.settled: set[str] = set()  # keys of entries imported, found here already, or refused for good
        self.last_failure: str | None = None
        self.stop = asyncio.Event()

    def say(self, message: str, *args: object, level: int = logging.WARNING) -> None:
        log.log(level, "registry: source %s: " + message, self.source.label, *args)

    async def run(self, nc: Client, stop: asyncio.Event) -> None:
        self.stop = stop
        while not stop.is_set():
            try:
                await self.poll()
            except Exception as exc:  # a poll must never take the registry down; the next one tries again
                self.say("poll failed: %s: %s", type(exc).__name__, exc)
            try:
                await asyncio.wait_for(stop.wait(), self.source.interval)
            except TimeoutError:
                pass

    async def poll(self) -> PollOutcome:
        url = urljoin(self.source.url, "index.json")
        try:
            fetched = await asyncio.to_thread(fetch, url, limit=INDEX_LIMIT, etag=self.etag, last_modified=self.last_modified)
        except FetchFailed as exc:
            if str(exc) != self.last_failure:  # an exporter that stays down is reported once
                self.say("%s", exc)
            self.last_failure = str(exc)
            return PollOutcome(modified=False, failed=[str(exc)])
        self.last_failure = None
        digest = hashlib.sha256(fetched.body).hexdigest() if fetched.body is not None else None
        if fetched.body is None or digest == self.digest:
            return PollOutcome(modified=False)
        outcome = PollOutcome()
        for raw in self.index_entries(fetched.body):
            if self.stop.is_set():  # shutting down: what is left is imported after the restart
                outcome.failed.append("the rest: the registry is stopping")
                break
            await self.import_raw(raw, outcome)
        if outcome.imported or outcome.refused:
            self.say("%d imported, %d refused, %d to retry", len(outcome.imported), len(outcome.refused), len(outcome.failed), level=logging.INFO)
        if not outcome.failed:
            self.etag, self.last_modified, self.digest = fetched.etag, fetched.last_modified, digest
        return outcome

    def index_entries(self, body: bytes) -> list[Any]:
        """The raw entries, oldest first; an index that is not one is logged and read as empty."""
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            self.say("index.json is not JSON (%s); nothing imported", exc)
            return []
        if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT or not isinstance(document.get("entries"), list):
            self.say("index.json is not a Plugyard export (expected format %r with a list of entries); nothing imported", EXPORT_FORMAT)
            return []
        entries = document["entries"]
        # Importing in publish order replays name claims as they were made.
        return sorted(entries, key=lambda raw: str(raw.get("published_at", "")) if isinstance(raw, dict) else "")

    async def import_raw(self, raw: Any, outcome: PollOutcome) -> None:
        key = entry_key(raw)
        if key in self.settled:
            return
        try:
            entry = ExportEntry.model_validate(raw)
        except ValidationError as exc:
            self.settled.add(key)
            outcome.refused.append(str(raw)[:80])
            self.say("an index entry is not valid (%s); skipped", describe_validation_error(exc))
            return
        try:
            if await self.import_entry(entry):
                outcome.imported.append(describe(entry))
            self.settled.add(key)
        except ImportRefused as exc:
            self.settled.add(key)
            outcome.refused.append(describe(entry))
            self.say("%s not imported: %s", describe(entry), exc)
        except FetchFailed as exc:
            outcome.failed.append(describe(entry))
            self.say("%s not imported yet: %s", describe(entry), exc)
        except Exception as exc:  # NATS or the object store failing: the next poll tries again
            outcome.failed.append(describe(entry))
            self.say("%s not imported yet: %s: %s", describe(entry), type(exc).__name__, exc)

    async def import_entry(self, entry: ExportEntry) -> bool:
        """True when imported now, False when already here; ImportRefused when it never will be."""
        state = await self.ctx.command(lambda: self.local_state(entry))
        if state == "here":
            return False
        if state is not None:
            raise ImportRefused(state)
        if entry.yanked:
            raise ImportRefused(f"yanked there ({entry.yank_reason or 'no reason given'}); a yank carries no signature to check, so it is not imported")
        fetched = await asyncio.to_thread(fetch, urljoin(self.source.url, f"archives/{entry.cid}.tar.gz"), limit=max_artifact_bytes())
        release, publisher = await asyncio.to_thread(verified_release, entry, fetched.body or b"")
        try:
            created = await publish_release(self.ctx, release, publisher, entry.signature)
        except RpcError as exc:
            if exc.code in PERMANENT_CODES:
                raise ImportRefused(exc.message) from None
            raise
        if created:
            self.say("imported %s, published by %s", describe(entry), publisher, level=logging.INFO)
        return created

    def local_state(self, entry: ExportEntry) -> str | None:
        """'here' when this registry has the entry already, else why it would refuse it, else None."""
        view = self.ctx.app.catalog.get(entry.name)
        if view is not None and view.versions.get(entry.version, {}).get("cid") == entry.cid:
            return "here"
        try:
            publisher = normalize_address(entry.publisher)
        except ValueError as exc:
            return f"publisher: {exc}"
        refusal = foreseeable_refusal(self.ctx.app.catalog, entry.name, entry.version, entry.cid, publisher)
        return refusal.message if refusal else None
