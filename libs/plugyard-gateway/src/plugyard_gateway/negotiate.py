"""What a request to `/ipfs/<cid>` asks for: a raw block or a CAR, and which CAR (IPFS trustless gateway spec).

`?format=` wins over `Accept` (spec: "format SHOULD take precedence"); `car-version`, `car-order`, `car-dups` in the
query win over the same parameters of an `Accept: application/vnd.ipld.car; ...`. This gateway is trustless only: it
never deserializes, so a request that names no format is refused:

- no `Accept` and no `format`: 400 (the spec's "SHOULD return 400 ... when running in strict trustless mode and
  Accept header is missing");
- an `Accept` or a `format` naming only what it cannot produce (`text/html`, `*/*`, `format=tar`, a CAR of version 2
  or with `dups=y`): 406 Not Acceptable (the spec lets a gateway that implements only some CAR parameters answer
  400 or 406);
- a `format`, `dag-scope` or CAR parameter value the spec does not define: 400.

CARs are always version 1, `order=dfs` (depth first, root first, children left to right) and `dups=n` (each block
once), whatever order the client accepts (`unk` accepts any). `dag-scope=block` is the requested block alone;
`entity` and `all` are its whole DAG (for a UnixFS file they are the same blocks). `entity-bytes` is not supported
(400) except `0:*`, the whole entity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping

RAW = "application/vnd.ipld.raw"
CAR = "application/vnd.ipld.car"
CAR_CONTENT_TYPE = f"{CAR}; version=1; order=dfs; dups=n"
Format = Literal["raw", "car"]

# Formats of the path gateway this gateway knows but does not serve: 406, not 400.
OTHER_FORMATS = {"tar", "dag-json", "dag-cbor", "json", "cbor", "ipns-record"}
SCOPES = ("block", "entity", "all")


class Refused(Exception):
    """A request this gateway answers with an error status and a one-line reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Choice:
    format: Format
    scope: str = "all"  # CAR only: block | entity | all
    from_query: bool = False  # the format came from `?format=` (else a Content-Location names it)

    @property
    def content_type(self) -> str:
        return RAW if self.format == "raw" else CAR_CONTENT_TYPE

    @property
    def etag_suffix(self) -> str:
        """What the ETag adds to the CID: the format and, for a CAR, everything that changes its bytes."""
        return "raw" if self.format == "raw" else f"car.v1.dfs.n.{self.scope}"


@dataclass(frozen=True)
class MediaRange:
    type: str
    params: dict[str, str]
    q: float


def parse_accept(header: str) -> list[MediaRange]:
    """The media ranges of an Accept header, best first (by q; ties keep the client's order); q=0 left out."""
    ranges: list[MediaRange] = []
    for item in header.split(","):
        parts = [p.strip() for p in item.split(";")]
        if not parts[0]:
            continue
        params: dict[str, str] = {}
        q = 1.0
        for param in parts[1:]:
            name, _, value = param.partition("=")
            name, value = name.strip().lower(), value.strip().strip('"')
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
            elif name:
                params[name] = value
        if q > 0:
            ranges.append(MediaRange(parts[0].lower(), params, q))
    return sorted(ranges, key=lambda r: -r.q)  # sorted() is stable


def _car_params_acceptable(params: Mapping[str, str]) -> str | None:
    """None when a CAR with these parameters is one this gateway writes; else why not."""
    version = params.get("version")
    if version not in (None, "", "1"):
        return f"a CAR of version {version} (this gateway writes CARv1)"
    order = params.get("order")
    if order not in (None, "", "dfs", "unk"):
        return f"a CAR in order {order!r} (this gateway writes order=dfs)"
    dups = params.get("dups")
    if dups not in (None, "", "n"):
        return f"a CAR with dups={dups} (this gateway sends each block once: dups=n)"
    return None


def _check_car_query(query: Mapping[str, str]) -> dict[str, str]:
    known = {"car-version": ("1", "2"), "car-order": ("dfs", "unk"), "car-dups": ("y", "n")}
    params = {}
    for name, allowed in known.items():
        value = query.get(name)
        if value is None:
            continue
        if value not in allowed:
            raise Refused(400, f"{name}={value!r} is not one of {', '.join(allowed)}")
        params[name.removeprefix("car-")] = value
    return params


def _scope(query: Mapping[str, str]) -> str:
    scope = query.get("dag-scope", "all")
    if scope not in SCOPES:
        raise Refused(400, f"dag-scope={scope!r} is not one of {', '.join(SCOPES)}")
    entity_bytes = query.get("entity-bytes")
    if entity_bytes is not None:
        if entity_bytes != "0:*":
            raise Refused(400, f"entity-bytes={entity_bytes!r}: this gateway serves whole entities only (entity-bytes=0:*)")
        scope = "entity" if scope == "all" else scope
    return scope


def negotiate(accept: str | None, query: Mapping[str, str]) -> Choice:
    """The response a request asks for, or `Refused` (400 or 406) saying why it cannot have one."""
    fmt = query.get("format")
    ranges = parse_accept(accept) if accept else []
    if fmt is not None:
        if fmt == "raw":
            return Choice("raw", from_query=True)
        if fmt == "car":
            accepted = next((r.params for r in ranges if r.type == CAR), {})
            params = {**accepted, **_check_car_query(query)}
            if (why := _car_params_acceptable(params)) is not None:
                raise Refused(406, f"not acceptable: {why}")
            return Choice("car", _scope(query), from_query=True)
        if fmt in OTHER_FORMATS:
            raise Refused(406, f"format={fmt} is not served here: this is a trustless gateway (format=raw or format=car)")
        raise Refused(400, f"format={fmt!r} is not a format (this gateway serves format=raw and format=car)")
    if accept is None or not accept.strip():
        raise Refused(400, f"say what to send: Accept: {RAW} or {CAR} (or ?format=raw or ?format=car); "
                           "this is a trustless gateway, it never sends deserialized content")
    query_car = _check_car_query(query)
    reasons = []
    for media in ranges:
        if media.type == RAW:
            return Choice("raw")
        if media.type == CAR:
            why = _car_params_acceptable({**media.params, **query_car})
            if why is None:
                return Choice("car", _scope(query))
            reasons.append(why)
    detail = f" ({'; '.join(reasons)})" if reasons else ""
    raise Refused(406, f"not acceptable: this trustless gateway sends only {RAW} and {CAR}{detail}")
