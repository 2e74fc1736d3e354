"""`plugyard market car NAME==VERSION --out FILE`: a version's archive as a CARv1 any IPFS tool can import and verify
(`ipfs dag import`, @ipld/car, a trustless gateway's client): the registry names the version's CID (`info`), the
archive comes from the object store checked against it (as `plugyard registry export` reads archives), and the CAR
holds the blocks of its DAG, root first, depth first, each once, with that CID as its one root."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from nats.aio.client import Client

from plugyard_cli.bus import with_nats
from plugyard_cli.output import EXIT_NO, EXIT_USAGE, CliError, console, print_json
from plugyard_core.artifact_store import ArtifactMismatch, ArtifactMissing, ArtifactTooLarge, get_verified_artifact
from plugyard_core.rpc import call
from plugyard_core.streams import rpc_subject
from plugyard_schemas.registry import InfoReply, InfoRequest, VersionInfo

INFO_TIMEOUT_S = 15.0


def _usage(message: str) -> CliError:
    return CliError(message, code="invalid_request", exit_code=EXIT_USAGE)


def _pin(text: str) -> tuple[str, str]:
    name, sep, version = text.partition("==")
    if not sep or not name.strip() or not version.strip():
        raise _usage(f"{text!r} is not NAME==VERSION")
    return name.strip(), version.strip()


def _the_version(reply: InfoReply, version: str) -> VersionInfo:
    for candidate in reply.versions:
        if candidate.version == version:
            return candidate
    known = ", ".join(v.version for v in reply.versions) or "none"
    raise CliError(f"{reply.name} has no version {version} (versions: {known})", code="not_found", exit_code=EXIT_NO)


def car(
    pin: Annotated[str, typer.Argument(metavar="NAME==VERSION", help="The version whose archive to write")],
    out: Annotated[Path, typer.Option("--out", help="The CAR file to write (replaced whole, or not at all)")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output: name, version, cid, out, blocks, bytes.")] = False,
) -> None:
    """Write a version's archive as a CARv1 file (root: the archive's CID), checked against its CID first."""
    from plugyard_artifacts.atomic import write_atomically
    from plugyard_artifacts.car import archive_blocks, iter_car

    name, version = _pin(pin)
    if out.is_dir():
        raise _usage(f"--out {out} is a directory: name the CAR file to write")

    async def job(nc: Client) -> tuple[VersionInfo, bytes]:
        reply = await call(nc, rpc_subject("registry", "info"), InfoRequest(name=name, version=version), InfoReply, timeout=INFO_TIMEOUT_S)
        chosen = _the_version(reply, version)
        try:
            return chosen, await get_verified_artifact(nc.jetstream(), chosen.cid)
        except ArtifactMismatch as exc:  # never written: the store was tampered with
            raise CliError(f"{name} {version}: {exc} (a publish of the right archive repairs the entry)", code="refused", exit_code=EXIT_NO) from None
        except (ArtifactMissing, ArtifactTooLarge) as exc:
            raise CliError(f"{name} {version}: {exc}", code="not_found", exit_code=EXIT_NO) from None

    chosen, data = with_nats(job)
    try:
        blocks = archive_blocks(chosen.cid, data)
    except ValueError as exc:  # cannot happen for bytes that verified; said plainly if it does
        raise CliError(f"{name} {version}: {exc}", code="refused", exit_code=EXIT_NO) from None
    content = b"".join(iter_car([chosen.cid], blocks))
    try:
        write_atomically(out, content)
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc.strerror or exc}", code="invalid_request", exit_code=EXIT_USAGE) from None
    summary = {"name": name, "version": chosen.version, "cid": chosen.cid, "status": chosen.status, "out": str(out),
               "blocks": len(blocks), "archive_bytes": len(data), "car_bytes": len(content)}
    if as_json:
        print_json(summary)
    else:
        console.print(f"wrote {out}: {name} {chosen.version} as a CAR of {len(blocks)} block(s), root {chosen.cid} "
                      f"({len(data)} bytes of archive, {len(content)} bytes of CAR)", markup=False, highlight=False)
