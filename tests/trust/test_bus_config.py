"""The bus's identities and their permissions as data, and the server configuration rendered from them (no server)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from plugyard_core.bus_config import TlsFiles, authorization_block, tls_block
from plugyard_core.bus_identities import CREDS_ENV, CredentialsError, credentials_for, ensure_identities, ensure_identity, read_identity
from plugyard_core.bus_permissions import PRIVATE_RPCS, bus_identities, permissions_for
from plugyard_core.embedded_nats import server_binary, write_config
from plugyard_core.services import RESERVED_SERVICES, SERVICES


def test_seed_files_are_private_and_never_replaced(tmp_path):
    first = ensure_identity("client", tmp_path)
    assert stat.S_IMODE(os.stat(first.seed_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(first.seed_file.parent).st_mode) == 0o700
    assert first.public_key.startswith("U") and first.seed_file.read_bytes().startswith(b"SU")
    assert ensure_identity("client", tmp_path).public_key == first.public_key


def test_credentials_come_from_the_environment_then_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv(CREDS_ENV, raising=False)
    assert credentials_for("client", tmp_path) is None  # no seed: a server without authentication
    ids = ensure_identities(["client", "registry"], tmp_path)
    assert credentials_for("client", tmp_path).public_key == ids["client"].public_key
    monkeypatch.setenv(CREDS_ENV, str(ids["registry"].seed_file))
    chosen = credentials_for("client", tmp_path)
    assert chosen.public_key == ids["registry"].public_key and chosen.inbox_prefix == f"_INBOX_{chosen.public_key}"


def test_a_file_that_is_not_a_user_seed_is_refused_by_name(tmp_path):
    bad = tmp_path / "junk.nk"
    bad.write_text("not a seed\n")
    with pytest.raises(CredentialsError, match="junk.nk is not an nkey seed file"):
        read_identity(bad)
    with pytest.raises(CredentialsError, match="cannot read"):
        read_identity(tmp_path / "missing.nk")


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_publishes_only_its_own_events(service):
    allowed = permissions_for(service, "UKEY").publish_allow
    events = [s for s in allowed if s.startswith("plugyard.evt.")]
    assert events == [f"plugyard.evt.{service}.>"]
    assert f"plugyard.rpc.{service}.>" in permissions_for(service, "UKEY").subscribe_allow


def test_the_client_may_not_publish_under_any_service_or_reserved_name_nor_call_private_rpcs():
    client = permissions_for("client", "UKEY")
    for name in (*SERVICES, *RESERVED_SERVICES):
        assert f"plugyard.evt.{name}.>" in client.publish_deny and f"plugyard.evt.{name}" in client.publish_deny
    assert set(PRIVATE_RPCS) <= set(client.publish_deny)
    assert not any(s.startswith("plugyard.") for s in client.subscribe_allow)
    assert not any("STREAM.DELETE" in s or "STREAM.PURGE" in s or "STREAM.CREATE" in s for s in client.publish_allow)


def test_unknown_identities_have_no_permissions():
    with pytest.raises(ValueError, match="unknown bus identity"):
        permissions_for("mallory", "UKEY")


def test_nats_server_accepts_the_generated_configuration(tmp_path):
    identities = ensure_identities(bus_identities(), tmp_path / "data")
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x"), key.write_text("x")
    config = tmp_path / "nats.conf"
    write_config(config, port=4222, store_dir=tmp_path / "js", sync_always=False, extra_blocks=(authorization_block(identities),))
    check = subprocess.run([str(server_binary()), "-t", "-c", str(config)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    assert 'cert_file: "' in tls_block(TlsFiles(cert, key)) and str(cert) in tls_block(TlsFiles(cert, key))
    text = config.read_text()
    assert not any(i.seed_file.read_text().strip() in text for i in identities.values())  # only public keys go to the server
    assert all(i.public_key in text for i in identities.values())


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_with_unreadable_credentials_says_so_in_one_line(service, tmp_path):
    bad = tmp_path / "junk.nk"
    bad.write_text("junk\n")
    env = {**os.environ, CREDS_ENV: str(bad), "PLUGYARD_DATA_DIR": str(tmp_path), "PLUGYARD_NATS_URL": "nats://127.0.0.1:1"}
    done = subprocess.run([sys.executable, "-m", f"plugyard_{service}"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 69, done.stderr
    assert f"{service}: error: {bad} is not an nkey seed file" in done.stderr and "Traceback" not in done.stderr
