from plugyard_core.embedded_nats import EmbeddedNats, PortInUse, write_config
import pytest


async def test_embedded_server_runs_jetstream(nc):
    info = await nc.jetstream().account_info()
    assert info.limits is not None


def test_config_syncs_every_write_when_asked(tmp_path):
    write_config(tmp_path / "c.conf", port=1234, store_dir=tmp_path / "js", sync_always=True)
    assert "sync_interval: always" in (tmp_path / "c.conf").read_text()
    write_config(tmp_path / "d.conf", port=1234, store_dir=tmp_path / "js", sync_always=False)
    assert "sync_interval" not in (tmp_path / "d.conf").read_text()


def test_taken_port_is_refused_with_its_number(nats_server, tmp_path):
    other = EmbeddedNats(data_dir=tmp_path / "other", port=nats_server.port)
    with pytest.raises(PortInUse, match=str(nats_server.port)):
        other.start()
