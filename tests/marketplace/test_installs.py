"""Installs for a proven account, consumed from the loader's events: recorded once, and kept across a restart."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from plugyard_core.consumer import Delivered
from plugyard_core.tracking_es import Reject
from plugyard_marketplace.application import MarketplaceApplication
from plugyard_marketplace.handlers import install_seen
from plugyard_schemas.cloudevent import CloudEvent

ACCOUNT = "0x" + "Ab" * 20


def installed(data: object) -> CloudEvent:
    return CloudEvent(specversion="1.0", id="e1", source="plugyard/loader", type="dev.plugyard.loader.PluginInstalled", data=data)


def app_at(tmp_path) -> MarketplaceApplication:
    return MarketplaceApplication(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "events.sqlite")})


def test_an_install_for_a_proven_account_is_recorded_once_and_kept(tmp_path):
    app = app_at(tmp_path)
    body = {"name": "demo", "version": "1.0.0", "host": "h1", "cid": "bafk", "status": "cleared", "account": ACCOUNT}
    delivered = Delivered(1, "plugyard.evt.loader.PluginInstalled", b"", None)
    [seen] = install_seen(app, installed(body), delivered)
    app.save(seen)
    assert app.installers == {"demo": {ACCOUNT.lower()}}
    assert install_seen(app, installed(body), delivered) == []  # known already
    assert install_seen(app, installed({**body, "account": None}), delivered) == []  # no account proven
    assert app_at(tmp_path).installers == {"demo": {ACCOUNT.lower()}}


@pytest.mark.parametrize("data", ["text", [1], {"name": "demo"}])
def test_a_malformed_install_event_is_rejected(tmp_path, data):
    with pytest.raises((Reject, ValidationError)):
        install_seen(app_at(tmp_path), installed(data), Delivered(1, "plugyard.evt.loader.PluginInstalled", b"", None))


def test_an_event_of_another_type_on_the_install_subject_is_rejected(tmp_path):
    event = installed({"name": "demo", "version": "1.0.0", "host": "h1", "cid": "bafk", "status": "cleared", "account": ACCOUNT})
    event.type = "dev.plugyard.loader.PluginLoaded"
    with pytest.raises(Reject, match="not an install"):
        install_seen(app_at(tmp_path), event, Delivered(1, "plugyard.evt.loader.PluginInstalled", b"", None))
