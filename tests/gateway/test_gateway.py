"""The IPFS trustless gateway (`python -m plugyard_gateway`) over archives in the object store of a real nats-server
with the stack's authorization, spoken to over HTTP and checked against independent implementations: @ipld/car and
ipfs-unixfs-exporter read its CARs, @helia/verified-fetch fetches through it (tests/ipfs_reference, run by Node;
those tests skip, saying why, without Node or `make setup`'s install)."""

from __future__ import annotations

import asyncio
import hashlib
import json

import pytest
from multiformats import CID

from plugyard_artifacts import car, unixfs
from plugyard_artifacts.cid import cid_from_sha256, cid_of
from plugyard_core.rpc import call
from plugyard_core.streams import rpc_subject
from plugyard_schemas.rpc import HealthReply, HealthRequest
from tests.artifacts.ipfs_reference import pseudo_random
from tests.gateway.conftest import start_gateway
from tests.gateway.reference import read_car, refused_car, verified_fetch

KiB = 1024
MiB = 1024 * KiB
SIZES = {"100 B": 100, "1 MiB": MiB, "3 MiB": 3 * MiB}
RAW = "application/vnd.ipld.raw"
CAR = "application/vnd.ipld.car"


def content(size: int) -> bytes:
    return pseudo_random(size, seed=f"gateway {size}".encode())


@pytest.fixture(scope="module")
def archives(bus) -> dict[int, str]:
    """The archives of SIZES in the store, by size: their CIDs."""
    cids = {}
    for size in SIZES.values():
        cids[size] = cid_of(content(size))
        asyncio.run(bus.put(cids[size], content(size)))
    return cids


def expected_car(root: str, blocks: list[tuple[str, bytes]]) -> bytes:
    return b"".join(car.iter_car([root], blocks))


# --- raw blocks --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_a_raw_block_request_for_an_archive_root_is_exactly_that_block(gateway, archives, size):
    root = archives[size]
    [(first, block), *_] = unixfs.iter_blocks(content(size))
    assert first == root
    for how in ({"accept": RAW}, {"path": "?format=raw"}):
        reply = gateway.request(f"/ipfs/{root}{how.get('path', '')}", accept=how.get("accept"))
        assert reply.status == 200 and reply.body == block
        assert hashlib.sha256(reply.body).digest() == bytes(CID.decode(root).raw_digest)
        assert reply.headers["content-type"] == RAW
        assert reply.headers["content-length"] == str(len(block))
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["cache-control"] == "public, max-age=29030400, immutable"
        assert reply.headers["etag"] == f'"{root}.raw"'
        assert reply.headers["content-disposition"] == f'attachment; filename="{root}.bin"'
        assert ("content-location" in reply.headers) == ("accept" in how)


def test_every_block_of_an_archive_is_served_raw(gateway, archives):
    data = content(3 * MiB)
    blocks = list(unixfs.iter_blocks(data))
    assert len(blocks) == 13  # the root and 12 leaves
    for cid, block in blocks:
        reply = gateway.request(f"/ipfs/{cid}?format=raw")
        assert (reply.status, reply.body) == (200, block), cid


def test_a_cid_in_another_base_or_version_names_the_same_block(gateway, archives):
    root = CID.decode(archives[MiB])
    block = next(unixfs.iter_blocks(content(MiB)))[1]
    for text in (str(root.set(base="base36")), str(root.set(version=0, base="base58btc"))):
        reply = gateway.request(f"/ipfs/{text}?format=raw")
        assert (reply.status, reply.body) == (200, block), text


def test_head_answers_the_headers_without_the_body(gateway, archives):
    root = archives[MiB]
    got = gateway.request(f"/ipfs/{root}?format=raw")
    head = gateway.request(f"/ipfs/{root}?format=raw", method="HEAD")
    assert head.status == 200 and head.body == b""
    assert {k: v for k, v in head.headers.items() if k != "date"} == {k: v for k, v in got.headers.items() if k != "date"}
    car_head = gateway.request(f"/ipfs/{root}?format=car", method="HEAD")
    car_got = gateway.request(f"/ipfs/{root}?format=car")
    assert car_head.status == 200 and car_head.body == b"" and car_head.headers["content-length"] == str(len(car_got.body))


def test_an_etag_the_client_holds_is_a_304(gateway, archives):
    root = archives[100]
    reply = gateway.request(f"/ipfs/{root}?format=raw", If_None_Match=f'"{root}.raw"')
    assert reply.status == 304 and reply.body == b"" and reply.headers["etag"] == f'"{root}.raw"'
    assert gateway.request(f"/ipfs/{root}?format=raw", If_None_Match='"other"').status == 200


# --- CARs --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_a_car_holds_the_dag_root_first_depth_first_each_block_once(gateway, archives, size):
    root = archives[size]
    blocks = list(unixfs.iter_blocks(content(size)))
    reply = gateway.request(f"/ipfs/{root}", accept=CAR)
    assert reply.status == 200
    assert reply.body == expected_car(root, blocks)
    assert reply.headers["content-type"] == "application/vnd.ipld.car; version=1; order=dfs; dups=n"
    assert reply.headers["content-length"] == str(len(reply.body))
    assert reply.headers["etag"] == f'"{root}.car.v1.dfs.n.all"'
    assert reply.headers["content-disposition"] == f'attachment; filename="{root}.car"'
    assert reply.headers["content-location"] == f"/ipfs/{root}?format=car"
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["cache-control"] == "public, max-age=29030400, immutable"


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_the_reference_reads_the_car_and_reassembles_the_file(gateway, archives, size, tmp_path):
    root = archives[size]
    data = content(size)
    reply = gateway.request(f"/ipfs/{root}?format=car")
    (tmp_path / "got.car").write_bytes(reply.body)
    read = read_car(tmp_path / "got.car", root, tmp_path / "file")
    assert read["version"] == 1 and read["roots"] == [root]
    assert read["blocks"] == [cid for cid, _ in unixfs.iter_blocks(data)]
    assert read["sha256"] == hashlib.sha256(data).hexdigest() and (tmp_path / "file").read_bytes() == data


def test_a_car_of_a_leaf_is_that_leaf_and_dag_scope_block_is_the_root_alone(gateway, archives):
    blocks = list(unixfs.iter_blocks(content(3 * MiB)))
    leaf_cid, leaf = blocks[5]
    assert gateway.request(f"/ipfs/{leaf_cid}?format=car").body == expected_car(leaf_cid, [(leaf_cid, leaf)])
    root_cid, root = blocks[0]
    scoped = gateway.request(f"/ipfs/{root_cid}?format=car&dag-scope=block")
    assert scoped.body == expected_car(root_cid, [(root_cid, root)])
    assert scoped.headers["etag"] == f'"{root_cid}.car.v1.dfs.n.block"'


def test_a_car_the_reference_is_missing_blocks_of_is_refused_by_it(gateway, archives, tmp_path):
    """The check is not vacuous: car.mjs refuses a CAR that lacks a block of the file."""
    root = archives[MiB]
    scoped = gateway.request(f"/ipfs/{root}?format=car&dag-scope=block")
    (tmp_path / "partial.car").write_bytes(scoped.body)
    assert "not in the CAR" in refused_car(tmp_path / "partial.car", root, tmp_path / "out")


# --- verified-fetch ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_verified_fetch_gets_the_same_bytes_through_the_gateway(gateway, archives, size):
    fetched = verified_fetch(gateway.url, archives[size])
    assert fetched["status"] == 200
    assert (fetched["size"], fetched["sha256"]) == (size, hashlib.sha256(content(size)).hexdigest())


# --- archives named by the raw CID of their whole content ------------------------------------------------------


def test_an_archive_published_under_its_raw_cid_is_one_block(bus, gateway, tmp_path):
    data = pseudo_random(300 * KiB, seed=b"legacy")
    legacy = cid_from_sha256(hashlib.sha256(data).digest())
    asyncio.run(bus.put(legacy, data))
    assert gateway.request(f"/ipfs/{legacy}?format=raw").body == data
    got = gateway.request(f"/ipfs/{legacy}?format=car").body
    assert got == expected_car(legacy, [(legacy, data)])
    (tmp_path / "legacy.car").write_bytes(got)
    assert read_car(tmp_path / "legacy.car", legacy, tmp_path / "out")["sha256"] == hashlib.sha256(data).hexdigest()


# --- what is refused ----------------------------------------------------------------------------------------------


def test_a_tampered_entry_is_a_502_with_a_reason_and_no_bytes(bus, gateway):
    genuine = pseudo_random(700 * KiB, seed=b"genuine")
    forged = pseudo_random(700 * KiB, seed=b"forged")
    cid = cid_of(genuine)
    asyncio.run(bus.put(cid, forged))
    forged_blocks = [block for _, block in unixfs.iter_blocks(forged)]
    for path, method in ((f"/ipfs/{cid}?format=raw", "GET"), (f"/ipfs/{cid}?format=car", "GET"), (f"/ipfs/{cid}?format=raw", "HEAD")):
        reply = gateway.request(path, method=method)
        assert reply.status == 502, path
        assert reply.headers["content-type"].startswith("text/plain") and "retry-after" in reply.headers
        if method == "GET":
            assert reply.body.count(b"\n") == 1 and cid.encode() in reply.body
            assert not any(block[:64] in reply.body for block in forged_blocks)
    assert "BAD ENTRY, NOT SERVED" in gateway.output()
    # its leaves are not served either: they are nobody's blocks
    leaf = next(cid for cid, _ in unixfs.iter_blocks(forged) if cid.startswith("bafk"))
    assert gateway.request(f"/ipfs/{leaf}?format=raw").status == 404


@pytest.mark.parametrize("text", ["notacid", "bafy", "Qm123", "bafybeigarbage!", "zzzzzzz"])
def test_a_malformed_cid_is_a_400(gateway, text):
    reply = gateway.request(f"/ipfs/{text}?format=raw")
    assert reply.status == 400 and reply.body.count(b"\n") == 1 and b"is not a CID" in reply.body


def test_an_unknown_cid_is_a_404(gateway, archives):
    for cid in (cid_of(b"nobody published this"), cid_of(pseudo_random(MiB, seed=b"nobody")),
                "bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"):  # a dag-cbor CID: no archive has one
        for fmt in ("raw", "car"):
            reply = gateway.request(f"/ipfs/{cid}?format={fmt}")
            assert reply.status == 404 and b"no archive" in reply.body, (cid, fmt)


def test_what_cannot_be_served_is_a_406_and_what_is_unsaid_a_400(gateway, archives):
    root = archives[100]
    assert gateway.request(f"/ipfs/{root}").status == 400  # no Accept at all (urllib sends none)
    assert gateway.request(f"/ipfs/{root}", accept="text/html").status == 406
    assert gateway.request(f"/ipfs/{root}", accept="*/*").status == 406
    assert gateway.request(f"/ipfs/{root}", accept=f"{CAR};version=2").status == 406
    assert gateway.request(f"/ipfs/{root}?format=tar").status == 406
    assert gateway.request(f"/ipfs/{root}?format=nonsense").status == 400
    assert gateway.request(f"/ipfs/{root}/a/path?format=raw").status == 400
    assert gateway.request(f"/ipfs/{root}/a/path?format=car").status == 404
    assert gateway.request(f"/ipfs/{root}?format=raw", Service_Worker="script").status == 400


def test_the_identity_probe_is_answered(gateway, tmp_path):
    raw = gateway.request("/ipfs/bafkqaaa?format=raw")
    assert (raw.status, raw.body, raw.headers["content-length"]) == (200, b"", "0")
    probe = gateway.request("/ipfs/bafkqaaa?format=car")
    assert probe.status == 200 and probe.body == car.header_section(["bafkqaaa"])  # the root, no identity block


# --- finding blocks -------------------------------------------------------------------------------------------------


def test_a_block_asked_for_before_its_root_is_found_and_the_index_stays_bounded(bus, tmp_path):
    """A fresh gateway whose index holds 20 block CIDs: blocks of two 3 MiB archives (13 blocks each) are found without
    their roots being asked for first (the gateway reads the store's DAG archives it has not indexed until one holds
    the block), the oldest archive is forgotten, and found again."""
    first, second = pseudo_random(3 * MiB, seed=b"first"), pseudo_random(3 * MiB, seed=b"second")
    for data in (first, second):
        asyncio.run(bus.put(cid_of(data), data))
    fresh = start_gateway(bus, tmp_path / "fresh", PLUGYARD_GATEWAY_INDEX_BLOCKS="20", PLUGYARD_GATEWAY_CACHE_BYTES="0")
    try:
        for data in (first, second, first):
            for cid, block in list(unixfs.iter_blocks(data))[1:4]:
                assert fresh.request(f"/ipfs/{cid}?format=raw").body == block

        report = json.loads(fresh.request("/healthz").body)  # this gateway's own (the bus's health RPC reaches any)
        assert report["ok"] is True and report["url"] == fresh.url
        assert 1 <= report["indexed_archives"] and report["indexed_blocks"] <= 20  # the bound holds
        assert report["archives_read"] >= 3  # first, second, and first again once forgotten
        assert report["responses_200"] == 9
    finally:
        assert fresh.stop() == 0
    assert not (fresh.data_dir / "gateway.url").exists()


def test_a_taken_port_is_one_line_and_exit_78(bus, tmp_path):
    import socket
    import subprocess
    import sys

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "plugyard_gateway"], capture_output=True, text=True, timeout=60,
                              env={"PATH": "/usr/bin:/bin", "PLUGYARD_GATEWAY_PORT": str(port), "PLUGYARD_NATS_URL": bus.url,
                                   "PLUGYARD_DATA_DIR": str(tmp_path)})
    assert done.returncode == 78
    assert f"gateway: error: cannot serve HTTP on 127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr
    bad = subprocess.run([sys.executable, "-m", "plugyard_gateway"], capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "PLUGYARD_GATEWAY_CACHE_BYTES": "lots", "PLUGYARD_DATA_DIR": str(tmp_path)})
    assert bad.returncode == 78 and "PLUGYARD_GATEWAY_CACHE_BYTES must be a number of bytes" in bad.stderr


def test_healthz_and_the_health_rpc_report_the_gateway(bus, gateway):
    reply = gateway.request("/healthz")
    report = json.loads(reply.body)
    assert reply.status == 200 and report["ok"] is True and report["url"] == gateway.url

    async def health() -> HealthReply:
        nc = await bus.connect("client")
        try:
            return await call(nc, rpc_subject("gateway", "health"), HealthRequest(), HealthReply)
        finally:
            await nc.close()

    answer = asyncio.run(health())
    assert answer.service == "gateway" and answer.healthy and not answer.problems
    assert answer.details["url"] == gateway.url and answer.details["bad_entries"] >= 0
