"""The registry from the command line: publish, yank, deprecate, owners, info, search, resolve."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from nats.aio.client import Client
from rich.table import Table

from plugyard_artifacts.signing import DeprecateStatement, OwnerAddStatement, ReleaseStatement, YankStatement, sign
from plugyard_cli.bus import with_nats
from plugyard_cli.output import EXIT_UNAVAILABLE, EXIT_USAGE, CliError, console, print_json
from plugyard_cli.release_file import local_release
from plugyard_cli.signing_key import load_signing_key
from plugyard_core.artifact_store import ArtifactMissing, ArtifactTooLarge, check_size, stage_upload
from plugyard_core.rpc import call
from plugyard_core.streams import rpc_subject
from plugyard_schemas.registry import (
    DeprecateReply,
    DeprecateRequest,
    InfoReply,
    InfoRequest,
    OwnerAddReply,
    OwnerAddRequest,
    PublishReply,
    PublishRequest,
    ResolveReply,
    ResolveRequest,
    SearchReply,
    SearchRequest,
    VersionInfo,
    YankReply,
    YankRequest,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
KeyOption = Annotated[Path, typer.Option("--key", help="Publisher key file (an owner's)")]
PUBLISH_TIMEOUT_S = 60.0
FINDINGS_SHOWN = 5

owners_app = typer.Typer(help="The addresses that may publish a plugin.", no_args_is_help=True)


def rpc(verb: str) -> str:
    return rpc_subject("registry", verb)


def usage(message: str) -> CliError:
    return CliError(message, code="invalid_request", exit_code=EXIT_USAGE)


def split_pin(text: str) -> tuple[str, str]:
    name, sep, version = text.partition("==")
    if not sep or not name.strip() or not version.strip():
        raise usage(f"{text!r} is not NAME==VERSION")
    return name.strip(), version.strip()


def publish(
    path: Annotated[Path, typer.Argument(help="A plugin folder or an archive made by `plugyard pack`")],
    key: KeyOption,
    as_json: JsonFlag = False,
) -> None:
    """Sign and publish a version: the archive is staged for the registry, which checks it against its CID and stores it;
    the version is recorded as pending scan."""
    release = local_release(path)
    try:
        check_size(release.size, f"{path} ({release.name} {release.version})")
    except (ArtifactTooLarge, ValueError) as exc:
        raise usage(str(exc)) from None
    account = load_signing_key(key)
    statement = ReleaseStatement(name=release.name, version=release.version, cid=release.cid, manifest_sha256=release.manifest_sha256)
    signature = sign(statement, account)

    async def send(nc: Client) -> PublishReply:
        with console.status(f"uploading {release.cid} ({release.size} bytes)…", spinner="dots"):
            try:
                upload = await stage_upload(nc.jetstream(), release.data)
            except ArtifactMissing as exc:  # no uploads bucket: the stack is not set up
                raise CliError(str(exc), code="unavailable", exit_code=EXIT_UNAVAILABLE) from None
        request = PublishRequest(cid=release.cid, publisher=account.address, signature=signature, upload=upload)
        return await call(nc, rpc("publish"), request, PublishReply, timeout=PUBLISH_TIMEOUT_S)

    reply = with_nats(send)
    if as_json:
        print_json(reply.model_dump())
    else:
        verb = "published" if reply.created else "already published (same content)"
        console.print(f"{verb}: {reply.name} {reply.version} ({reply.cid}), status {reply.status}", markup=False)


def yank(
    pin: Annotated[str, typer.Argument(metavar="NAME==VERSION")],
    reason: Annotated[str, typer.Option("--reason", help="Why (shown to users)")],
    key: KeyOption,
    as_json: JsonFlag = False,
) -> None:
    """Yank a version: it no longer resolves unless pinned with ==."""
    name, version = split_pin(pin)
    statement = build(YankStatement, name=name, version=version, reason=reason, issued_at=now())
    request = YankRequest(name=statement.name, version=version, reason=reason, issued_at=statement.issued_at, signature=sign(statement, load_signing_key(key)))
    reply = with_nats(lambda nc: call(nc, rpc("yank"), request, YankReply))
    show(reply.model_dump(), as_json, f"{reply.name} {reply.version} " + ("yanked" if reply.changed else "was already yanked"))


def deprecate(
    name: Annotated[str, typer.Argument()],
    key: KeyOption,
    successor: Annotated[str | None, typer.Option("--successor", help="The plugin to use instead")] = None,
    reason: Annotated[str, typer.Option("--reason")] = "deprecated",
    as_json: JsonFlag = False,
) -> None:
    """Mark a plugin deprecated, naming its successor."""
    statement = build(DeprecateStatement, name=name, successor=successor, reason=reason, issued_at=now())
    request = DeprecateRequest(name=statement.name, successor=statement.successor, reason=reason, issued_at=statement.issued_at,
                               signature=sign(statement, load_signing_key(key)))
    reply = with_nats(lambda nc: call(nc, rpc("deprecate"), request, DeprecateReply))
    show(reply.model_dump(), as_json, f"{reply.name} deprecated" + (f" in favour of {reply.successor}" if reply.successor else ""))


@owners_app.command("add")
def owners_add(
    name: Annotated[str, typer.Argument()],
    address: Annotated[str, typer.Argument(help="The new owner's address (0x…)")],
    key: KeyOption,
    as_json: JsonFlag = False,
) -> None:
    """Let another address publish versions of NAME (signed by a current owner)."""
    statement = build(OwnerAddStatement, name=name, address=address, issued_at=now())
    request = OwnerAddRequest(name=statement.name, address=statement.address, issued_at=statement.issued_at,
                              signature=sign(statement, load_signing_key(key)))
    reply = with_nats(lambda nc: call(nc, rpc("owners-add"), request, OwnerAddReply))
    show(reply.model_dump(), as_json, f"owners of {reply.name}: {', '.join(reply.owners)}")


def info(spec: Annotated[str, typer.Argument(metavar="NAME[==VERSION]")], as_json: JsonFlag = False) -> None:
    """Versions, status, owners, permissions, dependencies and CID."""
    name, _, version = spec.partition("==")
    reply = with_nats(lambda nc: call(nc, rpc("info"), InfoRequest(name=name.strip(), version=version.strip() or None), InfoReply))
    if as_json:
        print_json(reply.model_dump(mode="json"))
        return
    console.print(f"[bold]{reply.name}[/]  latest installable: {reply.latest or '-'}  owners: {', '.join(reply.owners)}")
    if reply.deprecated:
        console.print(f"[yellow]deprecated[/]: {reply.deprecation_reason}" + (f" (use {reply.successor})" if reply.successor else ""))
    table = Table("version", "status", "cid", "requires", "permissions", "published")
    for v in reply.versions:
        status = v.status + (f" (yanked: {v.yank_reason})" if v.yanked else "")
        perms = ", ".join(k for k, val in v.permissions.items() if val) or "none"
        table.add_row(v.version, status, v.cid, ", ".join(v.requires) or "-", perms, v.published_at.strftime("%Y-%m-%d %H:%M"))
    console.print(table)
    for v in reply.versions:
        for line in judgement_lines(v):
            console.print(line, markup=False, highlight=False, soft_wrap=True)


def judgement_lines(v: VersionInfo) -> list[str]:
    """Why a version has its status, then its most severe findings: one line each."""
    lines = [f"{v.version}: {v.status_reason or v.status}"]
    for finding in v.findings[:FINDINGS_SHOWN]:
        where = (finding.get("path") or "(plugin)") + (f":{finding['line']}" if finding.get("line") else "")
        lines.append(f"    {finding.get('severity', '?'):<8} {finding.get('rule', '?')}  {where}  {finding.get('message', '')}")
    if len(v.findings) > FINDINGS_SHOWN:
        lines.append(f"    … and {len(v.findings) - FINDINGS_SHOWN} more finding(s) (--json lists them)")
    return lines


def search(
    query: Annotated[str | None, typer.Argument(help="Words to look for (typos are forgiven)")] = None,
    category: Annotated[list[str] | None, typer.Option("--category")] = None,
    keyword: Annotated[list[str] | None, typer.Option("--keyword")] = None,
    license: Annotated[list[str] | None, typer.Option("--license")] = None,
    author: Annotated[list[str] | None, typer.Option("--author")] = None,
    publisher: Annotated[str | None, typer.Option("--publisher")] = None,
    permission: Annotated[list[str] | None, typer.Option("--permission", help="Only plugins that declare it")] = None,
    no_permission: Annotated[list[str] | None, typer.Option("--no-permission", help="Only plugins that do not declare it")] = None,
    host_version: Annotated[str | None, typer.Option("--host-version")] = None,
    status: Annotated[list[str] | None, typer.Option("--status", help="Widen to these statuses (pending, cleared, warned, quarantined)")] = None,
    sort: Annotated[str, typer.Option("--sort", help="relevance, name or newest")] = "relevance",
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 20,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    as_json: JsonFlag = False,
) -> None:
    """Full-text search with filters; facet counts in --json."""
    try:
        request = SearchRequest(
            text=query, categories=category or [], keywords=keyword or [], licenses=license or [], authors=author or [],
            publisher=publisher, with_permissions=permission or [], without_permissions=no_permission or [],
            host_version=host_version, statuses=status or None, sort=sort, limit=limit, offset=offset,
        )
    except ValueError as exc:
        raise usage(str(exc).splitlines()[0] if "\n" not in str(exc) else describe(exc)) from None
    reply = with_nats(lambda nc: call(nc, rpc("search"), request, SearchReply))
    if as_json:
        print_json(reply.model_dump(mode="json"))
        return
    table = Table("name", "version", "status", "summary")
    for hit in reply.hits:
        table.add_row(hit.name, hit.version, hit.status + (" (yanked)" if hit.yanked else ""), hit.summary)
    console.print(table)
    console.print(f"{reply.total} plugin(s); showing {len(reply.hits)} from {offset}")


def resolve(
    requirements: Annotated[list[str], typer.Argument(metavar="REQ...", help="e.g. 'summarizer>=1' 'textkit==0.2'")],
    host_version: Annotated[str, typer.Option("--host-version")] = "1.0",
    as_json: JsonFlag = False,
) -> None:
    """Pin requirements to installable versions, dependencies first; a conflict exits 1 with the clashing chains."""
    reply = with_nats(lambda nc: call(nc, rpc("resolve"), ResolveRequest(requirements=requirements, host_version=host_version), ResolveReply))
    if as_json:
        print_json(reply.model_dump())
        return
    for pinned in reply.install_order:
        console.print(f"{pinned.name}=={pinned.version}  {pinned.cid}" + ("  (yanked)" if pinned.yanked else ""), markup=False)


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def build(statement_type, **fields):
    try:
        return statement_type(**fields)
    except ValueError as exc:
        raise usage(describe(exc)) from None


def describe(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in errors())
    return str(exc)


def show(payload: dict, as_json: bool, text: str) -> None:
    if as_json:
        print_json(payload)
    else:
        console.print(text, markup=False)
