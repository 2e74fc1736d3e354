"""Signed statements are accepted once, and the registry remembers them in its event store: a captured verdict, yank,
deprecation or owner change replayed after a restart is refused, while a freshly signed one is still taken.

A restart is a new `RegistryApplication` on the same data directory; no NATS needed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from eth_account import Account

from plugyard_artifacts.signing import DeprecateStatement, OwnerAddStatement, ReleaseStatement, VerdictStatement, YankStatement, sign
from plugyard_registry.application import RegistryApplication
from plugyard_registry.domain import RegistryRefusal
from tests.registry.support import make_plugin, release_of

boss = Account.create()
alice = Account.create()
mallory = Account.create()


def now(seconds_ago: int = 0) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=seconds_ago)


class Registry:
    """The registry's application on one data directory, restarted at will."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.app = self._open()

    def _open(self) -> RegistryApplication:
        return RegistryApplication(data_dir=self.data_dir, admins=frozenset({boss.address}))

    def restart(self) -> None:
        self.app.close()
        self.app = self._open()

    def verdict(self, statement: VerdictStatement, signature: str | None = None) -> bool:
        s = statement
        _, changed, _ = self.app.set_verdict(s.name, s.version, s.verdict, s.reason, s.issued_at, signature or sign(s, boss))
        return changed

    def status(self, name: str = "replayed", version: str = "1.0.0") -> tuple[str, str]:
        record = self.app.plugin(name).versions[version]
        assert self.app.catalog.get(name).versions[version]["status"] == record["status"]
        return record["status"], record["status_reason"]


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    for name in ("PERSISTENCE_MODULE", "POSTGRES_DBNAME", "PLUGYARD_DEV_ALLOW_PENDING"):
        monkeypatch.delenv(name, raising=False)
    release = release_of(make_plugin(tmp_path, "replayed"), tmp_path)
    registry = Registry(tmp_path / "data")
    statement = ReleaseStatement(name=release.name, version=release.version, cid=release.cid, manifest_sha256=release.manifest_sha256)
    registry.app.publish(release, alice.address, sign(statement, alice))
    yield registry
    registry.app.close()


def refused_as_replay(action) -> RegistryRefusal:
    with pytest.raises(RegistryRefusal) as refused:
        action()
    assert refused.value.code == "refused" and "this signed statement was already used at 20" in refused.value.message, refused.value.message
    return refused.value


def test_a_signed_verdict_replayed_after_a_restart_is_refused(registry):
    cleared = VerdictStatement(name="replayed", version="1.0.0", verdict="cleared", reason="reviewed", issued_at=now())
    captured = sign(cleared, boss)
    assert registry.verdict(cleared, captured)
    refused_as_replay(lambda: registry.verdict(cleared, captured))  # a retry too: a statement is taken once

    registry.restart()
    refused_as_replay(lambda: registry.verdict(cleared, captured))
    assert registry.status() == ("cleared", f"cleared by registry admin {boss.address}: reviewed")

    quarantined = VerdictStatement(name="replayed", version="1.0.0", verdict="quarantined", reason="calls home", issued_at=now())
    assert registry.verdict(quarantined)
    registry.restart()
    refused_as_replay(lambda: registry.verdict(cleared, captured))
    assert registry.status() == ("quarantined", f"quarantined by registry admin {boss.address}: calls home")
    # A fresh statement with the same verdict is another statement, and still taken.
    assert registry.verdict(VerdictStatement(name="replayed", version="1.0.0", verdict="cleared", reason="reviewed again", issued_at=now()))
    assert registry.status()[0] == "cleared"


def test_a_verdict_that_changed_nothing_cannot_be_replayed_after_a_later_change(registry):
    assert registry.verdict(VerdictStatement(name="replayed", version="1.0.0", verdict="quarantined", reason="first", issued_at=now(3)))
    confirmed = VerdictStatement(name="replayed", version="1.0.0", verdict="quarantined", reason="confirmed", issued_at=now(2))
    captured = sign(confirmed, boss)
    assert not registry.verdict(confirmed, captured)  # no change of status, but on record
    assert registry.verdict(VerdictStatement(name="replayed", version="1.0.0", verdict="cleared", reason="false alarm", issued_at=now(1)))
    registry.restart()
    refused_as_replay(lambda: registry.verdict(confirmed, captured))
    assert registry.status()[0] == "cleared"


def test_a_runtime_quarantine_cannot_be_undone_by_replaying_an_earlier_clearance(registry):
    cleared = VerdictStatement(name="replayed", version="1.0.0", verdict="cleared", reason="reviewed", issued_at=now())
    captured = sign(cleared, boss)
    assert registry.verdict(cleared, captured)
    registry.app.quarantine_at_runtime("replayed", "1.0.0", "2 permission violations", "host-a")
    registry.restart()
    refused_as_replay(lambda: registry.verdict(cleared, captured))
    assert registry.status() == ("quarantined", "quarantined by the loader on host-a: 2 permission violations")


def test_owner_statements_are_taken_once_across_restarts(registry):
    def deprecate(statement: DeprecateStatement, signature: str) -> bool:
        return registry.app.deprecate(statement.name, statement.successor, statement.reason, statement.issued_at, signature)

    first = DeprecateStatement(name="replayed", successor="successor-a", reason="moved", issued_at=now(3))
    first_signature = sign(first, alice)
    assert deprecate(first, first_signature)
    again = DeprecateStatement(name="replayed", successor="successor-a", reason="moved", issued_at=now(2))
    again_signature = sign(again, alice)
    assert not deprecate(again, again_signature)  # repeats the deprecation in force, but is on record
    later = DeprecateStatement(name="replayed", successor="successor-b", reason="moved", issued_at=now(1))
    assert deprecate(later, sign(later, alice))

    yank = YankStatement(name="replayed", version="1.0.0", reason="broken build", issued_at=now())
    yank_signature = sign(yank, alice)
    assert registry.app.yank(yank.name, yank.version, yank.reason, yank.issued_at, yank_signature)
    owner = OwnerAddStatement(name="replayed", address=mallory.address, issued_at=now())
    owner_signature = sign(owner, alice)
    assert registry.app.add_owner(owner.name, owner.address, owner.issued_at, owner_signature)[1]

    registry.restart()
    refused_as_replay(lambda: deprecate(first, first_signature))
    refused_as_replay(lambda: deprecate(again, again_signature))
    assert registry.app.plugin("replayed").deprecated == {"successor": "successor-b", "reason": "moved"}
    assert registry.app.catalog.get("replayed").deprecated == {"successor": "successor-b", "reason": "moved"}
    refused_as_replay(lambda: registry.app.yank(yank.name, yank.version, yank.reason, yank.issued_at, yank_signature))
    refused_as_replay(lambda: registry.app.add_owner(owner.name, owner.address, owner.issued_at, owner_signature))
    assert registry.app.plugin("replayed").owners == [alice.address, mallory.address]


def test_the_events_record_which_statement_they_took(registry):
    statement = VerdictStatement(name="replayed", version="1.0.0", verdict="cleared", reason="reviewed", issued_at=now())
    registry.verdict(statement)
    events = list(registry.app.repository.event_store.get(registry.app.plugin("replayed").id))
    recorded = events[-1].signed_statement
    assert type(events[-1]).__name__ == "VersionCleared"
    assert recorded["issued_at"] == statement.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ") and len(recorded["sha256"]) == 64
