"""The gateway's HTTP surface (an ASGI app): `GET`/`HEAD /ipfs/<cid>`, a read-only IPFS trustless gateway over the
archives in the object store, and `GET /healthz`.

Responses follow the IPFS trustless gateway and path gateway specs (specs.ipfs.tech/http-gateways): a raw block or a
CARv1 (root: the requested CID; its DAG depth first, root first, each block once), with `Content-Type` (a CAR's with
`version=1; order=dfs; dups=n`), `Content-Length`, `Content-Disposition: attachment; filename="<cid>.bin|.car"`,
`X-Content-Type-Options: nosniff`, `Cache-Control: public, max-age=29030400, immutable`, a strong `ETag`
(`"<cid>.raw"`, `"<cid>.car.v1.dfs.n.<dag-scope>"`: the same request always gets the same bytes) honoured by
`If-None-Match` (304), `Vary: Accept`, `X-Ipfs-Path`, `X-Ipfs-Roots`, and `Content-Location` naming `?format=` when
the format came from `Accept`. `HEAD` answers the same headers without the body.

Statuses: 400 a malformed CID, a request without `Accept` or `format`, a path after a raw block's CID, a
`Service-Worker: script` request, or a parameter value the spec does not define; 404 a CID no archive in the store
has (and a path under a file: a UnixFS file has none); 406 an `Accept`/`format` this gateway cannot produce; 502
(with `Retry-After`) a store entry that is not the content its CID names, logged and never served; 503 the store not
answering. Every error is one line of text. Every block is checked against its CID right before it is sent. The
identity CID `bafkqaaa` (the spec's probe), and any identity CID, is answered from the CID itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlencode

from multiformats import CID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from plugyard_artifacts.car import car_length, iter_car
from plugyard_gateway.blocks import ArchiveBlocks, BadEntry, StoreUnavailable, canonical, digest_matches, is_identity, parse
from plugyard_gateway.negotiate import Choice, Refused, negotiate

log = logging.getLogger("plugyard.gateway")

IMMUTABLE = "public, max-age=29030400, immutable"
RETRY_AFTER_S = "60"


class Counters:
    """What the health RPC reports about requests."""

    def __init__(self) -> None:
        self.by_status: dict[int, int] = {}
        self.bad_entries = 0
        self.last_bad_entry: str | None = None

    def count(self, status: int) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1


def error(status: int, reason: str, **headers: str) -> PlainTextResponse:
    line = " ".join(reason.split())  # one line, whatever the reason held
    return PlainTextResponse(line + "\n", status_code=status, headers=headers)


def etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(candidate.strip().removeprefix("W/") == etag for candidate in header.split(","))


def content_location(request: Request, choice: Choice) -> str:
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "format"] + [("format", choice.format)]
    return f"{request.url.path}?{urlencode(query)}"


def common_headers(request: Request, requested: str, choice: Choice) -> dict[str, str]:
    headers = {
        "Content-Type": choice.content_type,
        "Content-Disposition": f'attachment; filename="{requested}.{"bin" if choice.format == "raw" else "car"}"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": IMMUTABLE,
        "ETag": f'"{requested}.{choice.etag_suffix}"',
        "Vary": "Accept",
        "X-Ipfs-Path": f"/ipfs/{requested}",
        "X-Ipfs-Roots": requested,
        "Accept-Ranges": "none",
    }
    if not choice.from_query:
        headers["Content-Location"] = content_location(request, choice)
    return headers


def checked(blocks: list[tuple[str, bytes]]) -> None:
    """Every block against its CID, before a byte is sent: `BadEntry` for the first that is not its content."""
    for cid, block in blocks:
        if not digest_matches(CID.decode(cid), block):
            raise BadEntry(f"block {cid} (from the store) is not the content its CID names")


def build_app(blocks: ArchiveBlocks, health: Callable[[], dict] | None = None, counters: Counters | None = None) -> Starlette:
    counters = counters or Counters()

    async def ipfs(request: Request) -> Response:
        response = await answer(request)
        counters.count(response.status_code)
        return response

    async def answer(request: Request) -> Response:
        requested, _, path = request.path_params["rest"].partition("/")
        path = path.strip("/")
        if request.headers.get("service-worker", "").strip().lower() == "script":
            return error(400, "a service worker cannot be registered on this gateway")
        try:
            cid = parse(requested)
        except ValueError as exc:
            return error(400, str(exc))
        try:
            choice = negotiate(request.headers.get("accept"), request.query_params)
        except Refused as refused:
            return error(refused.status, refused.reason)
        if choice.format == "raw" and path:
            return error(400, f"a raw block is asked for by its CID alone: /ipfs/{requested}, without /{path}")
        headers = common_headers(request, requested, choice)
        if is_identity(cid):  # its content is the CID's own digest: nothing to look up (the spec's bafkqaaa probe)
            found = [(requested, bytes(cid.raw_digest))]
            car_blocks: list[tuple[str, bytes]] = []  # a CAR never carries identity blocks
        else:
            key = canonical(cid)
            try:
                dag = await blocks.find(key)
            except BadEntry as exc:
                return bad_entry(requested, str(exc))
            except StoreUnavailable as exc:
                return error(503, f"{exc}; try again later", **{"Retry-After": "5"})
            if dag is None:
                return error(404, f"no archive in this Plugyard stack's store has the block {requested}")
            if path:
                return error(404, f"{requested} is a UnixFS file: it has no path /{path}")
            found = dag.walk(key, "block" if choice.format == "raw" else choice.scope)
            car_blocks = found
        try:
            await asyncio.to_thread(checked, found)
        except BadEntry as exc:
            return bad_entry(requested, str(exc))
        if etag_matches(request.headers.get("if-none-match"), headers["ETag"]):
            return Response(status_code=304, headers={k: v for k, v in headers.items() if k != "Content-Type"})
        if choice.format == "raw":
            body = found[0][1]
            headers["Content-Length"] = str(len(body))
            return Response(b"" if request.method == "HEAD" else body, headers=headers, media_type=None)
        root = bytes(cid)  # the CID as asked for (a CIDv0 stays one), in binary
        headers["Content-Length"] = str(car_length([root], [(c, len(b)) for c, b in car_blocks]))
        if request.method == "HEAD":
            return Response(b"", headers=headers)

        async def stream() -> AsyncIterator[bytes]:
            for piece in iter_car([root], car_blocks):
                yield piece

        return StreamingResponse(stream(), headers=headers)

    def bad_entry(requested: str, reason: str) -> Response:
        counters.bad_entries += 1
        counters.last_bad_entry = reason
        log.error("BAD ENTRY, NOT SERVED (GET /ipfs/%s): %s", requested, reason)
        return error(502, f"not served: {reason}", **{"Retry-After": RETRY_AFTER_S})

    async def healthz(request: Request) -> Response:
        report = {"ok": True, **(health() if health else {})}
        return JSONResponse(report, status_code=200 if report.get("ok", True) else 503)

    return Starlette(routes=[
        Route("/ipfs/{rest:path}", ipfs, methods=["GET", "HEAD"]),
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
    ])
