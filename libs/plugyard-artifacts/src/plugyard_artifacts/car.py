"""CARv1 files (https://ipld.io/specs/transport/car/carv1/): the archive format of IPFS blocks, as an IPFS trustless
gateway streams them and `ipfs dag import` reads them.

    varint(len(header)) header                      header: DAG-CBOR {"roots": [CID, ...], "version": 1}
    varint(len(cid) + len(block)) cid block         once per block, cid in its binary form

The header is encoded here by hand: DAG-CBOR's canonical form of a map of two keys is short and fixed (keys sorted by
length, then bytes: "roots" before "version"; a CID is tag 42 over a byte string of 0x00 then the binary CID). The
writer does not check the blocks against their CIDs: whoever hands them in does (the gateway and `plugyard market
car` check every block before it is written).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO

CAR_VERSION = 1
MEDIA_TYPE = "application/vnd.ipld.car"


def varint(value: int) -> bytes:
    """Unsigned LEB128, as multiformats' unsigned-varint (the CAR's section lengths)."""
    if value < 0:
        raise ValueError(f"a varint is not negative: {value}")
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def binary_cid(cid: str | bytes) -> bytes:
    """A CIDv1 in binary: bytes as they are, text (any multibase) decoded."""
    if isinstance(cid, (bytes, bytearray, memoryview)):
        return bytes(cid)
    from multiformats import CID

    decoded = CID.decode(cid)
    if decoded.version != 1:
        raise ValueError(f"a CAR here names CIDv1 blocks; {cid} is CIDv{decoded.version}")
    return bytes(decoded)


def _cbor_head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes([major << 5 | value])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if value < 1 << (8 * size):
            return bytes([major << 5 | info]) + value.to_bytes(size, "big")
    raise ValueError(f"{value} does not fit a CBOR head")


def _cbor_text(text: str) -> bytes:
    raw = text.encode()
    return _cbor_head(3, len(raw)) + raw


def encode_header(roots: Iterable[str | bytes]) -> bytes:
    """The DAG-CBOR header {"roots": [...], "version": 1}, without its length prefix."""
    links = [binary_cid(root) for root in roots]
    parts = [_cbor_head(5, 2), _cbor_text("roots"), _cbor_head(4, len(links))]
    for link in links:
        parts.append(b"\xd8\x2a" + _cbor_head(2, len(link) + 1) + b"\x00" + link)  # tag 42, bytes(0x00 ‖ CID)
    parts += [_cbor_text("version"), _cbor_head(0, CAR_VERSION)]
    return b"".join(parts)


def header_section(roots: Iterable[str | bytes]) -> bytes:
    header = encode_header(roots)
    return varint(len(header)) + header


def block_section(cid: str | bytes, block: bytes) -> bytes:
    """One block's section: its length prefix, its binary CID and its bytes."""
    link = binary_cid(cid)
    return varint(len(link) + len(block)) + link + block


def section_length(cid: str | bytes, block_size: int) -> int:
    length = len(binary_cid(cid)) + block_size
    return len(varint(length)) + length


def archive_blocks(cid: str, data: bytes) -> list[tuple[str, bytes]]:
    """The blocks an archive's CID names, in CAR order, for bytes already checked against `cid` (`verify_cid`): a raw
    CID names one block, the whole content (archives up to 256 KiB, and those published before DAG roots); a dag-pb
    CID the UnixFS file DAG `ipfs add --cid-version 1 --raw-leaves` builds, root first, depth first, each block once.
    `ValueError` when the bytes' DAG has another root."""
    from plugyard_artifacts import unixfs
    from plugyard_artifacts.cid import parse_cid

    if parse_cid(cid).codec.name == "raw":
        return [(cid, data)]
    blocks = list(unixfs.iter_blocks(data))
    if not blocks or blocks[0][0] != cid:
        raise ValueError(f"these bytes' DAG has the root {blocks[0][0] if blocks else None}, not {cid}")
    return blocks


def iter_car(roots: Iterable[str | bytes], blocks: Iterable[tuple[str | bytes, bytes]]) -> Iterator[bytes]:
    """The CAR's bytes, a section at a time: the header, then each (cid, block) in the order given."""
    yield header_section(roots)
    for cid, block in blocks:
        link = binary_cid(cid)
        yield varint(len(link) + len(block)) + link
        yield block


def car_length(roots: Iterable[str | bytes], blocks: Iterable[tuple[str | bytes, int]]) -> int:
    """The size of the CAR `iter_car` writes, from each block's CID and size (for a Content-Length)."""
    return len(header_section(roots)) + sum(section_length(cid, size) for cid, size in blocks)


def write_car(out: BinaryIO, roots: Iterable[str | bytes], blocks: Iterable[tuple[str | bytes, bytes]]) -> int:
    """Write the CAR to `out`; returns the number of bytes written."""
    written = 0
    for piece in iter_car(roots, blocks):
        out.write(piece)
        written += len(piece)
    return written
