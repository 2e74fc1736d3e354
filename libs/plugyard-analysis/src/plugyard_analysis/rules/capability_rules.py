"""What the code can do (`plugyard_analysis.capabilities`) against what its manifest's `[permissions]` declare,
and against what the previous version could do.

The comparisons with the manifest are skipped when there is no valid manifest (SCAN-MANIFEST covers that);
dynamic code and capability drift do not depend on it. Native code in bundled compiled files is judged by
META-BUNDLED-BINARY, so CAP-UNDECLARED-NATIVE looks at the Python code only.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from plugyard_analysis.capabilities import InferenceFailed, Use, inference_error, plugin_capabilities, uses
from plugyard_analysis.context import Evidence, PluginContext
from plugyard_analysis.rulebook import Hit, RuleInfo, plugin_rule

HIDDEN_FUNCTIONALITY = 912  # CWE-912: Hidden Functionality

UNDECLARED_NETWORK = RuleInfo(
    "CAP-UNDECLARED-NETWORK", "capability", "high",
    "The code talks to the network but the manifest declares no network access", cwe=HIDDEN_FUNCTIONALITY,
)
UNDECLARED_HOST = RuleInfo(
    "CAP-UNDECLARED-HOST", "capability", "medium",
    "The code names a host that is not among the manifest's declared network hosts", cwe=HIDDEN_FUNCTIONALITY,
)
UNDECLARED_SUBPROCESS = RuleInfo(
    "CAP-UNDECLARED-SUBPROCESS", "capability", "high",
    "The code starts other programs but the manifest does not declare subprocess", cwe=HIDDEN_FUNCTIONALITY,
)
UNDECLARED_NATIVE = RuleInfo(
    "CAP-UNDECLARED-NATIVE", "capability", "high",
    "The code loads native code (ctypes, cffi, shared libraries) but the manifest does not declare native", cwe=HIDDEN_FUNCTIONALITY,
)
UNDECLARED_ENV = RuleInfo(
    "CAP-UNDECLARED-ENV", "capability", "medium",
    "The code reads environment variables the manifest does not declare", cwe=HIDDEN_FUNCTIONALITY,
)
UNDECLARED_FILESYSTEM = RuleInfo(
    "CAP-UNDECLARED-FILESYSTEM", "capability", "medium",
    "The code reads or writes files outside its own without a matching filesystem grant", cwe=HIDDEN_FUNCTIONALITY,
)
DYNAMIC_CODE = RuleInfo(
    "CAP-DYNAMIC-CODE", "capability", "medium",
    "The code runs code it builds or loads at run time (exec/eval/compile, imports by computed name), which no permission covers", cwe=94,
)
DRIFT = RuleInfo(
    "CAP-DRIFT", "capability", "medium",
    "This version can do something the previous version could not",
)

MAX_LISTED = 8


def _sources_uses(ctx: PluginContext, capability: str) -> list[tuple[str, Use]]:
    return [(src.path, use) for src in ctx.sources for use in uses(src) if use.capability == capability]


def _where(path: str, line: int | None) -> str:
    return f"{path}:{line}" if line else path


def _summary(evidence: Sequence[Evidence]) -> Hit:
    first = evidence[0]
    places = {(e.path, e.line) for e in evidence}
    more = f" (+{len(places) - 1} more place{'s' if len(places) > 2 else ''})" if len(places) > 1 else ""
    return Hit(f"{first.what} at {_where(first.path, first.line)}{more}", path=first.path, line=first.line)


def _code_evidence(ctx: PluginContext, capability: str) -> list[Evidence]:
    """Evidence found in Python sources (not bundled files), in file and line order."""
    sources = {src.path for src in ctx.sources}
    found = [e for e in plugin_capabilities(ctx).get(capability, []) if e.path in sources]
    return sorted(found, key=lambda e: (e.path, e.line or 0))


@plugin_rule(UNDECLARED_NETWORK)
def undeclared_network(ctx: PluginContext) -> Iterator[Hit]:
    if ctx.manifest is None or ctx.permissions.get("network"):
        return
    evidence = _code_evidence(ctx, "network")
    if evidence:
        yield _summary(evidence)


def _declared_targets(targets: Iterable[str]) -> list[tuple[str, int | None]]:
    declared = []
    for target in targets:
        if target.startswith("["):
            host, _, rest = target[1:].partition("]")
            declared.append((host.lower(), int(rest[1:]) if rest.startswith(":") else None))
        else:
            host, colon, port = target.partition(":")
            declared.append((host.lower(), int(port) if colon and port.isdigit() else None))
    return declared


def host_allowed(host: str, port: int | None, targets: Sequence[str]) -> bool:
    """Is (host, port) among the declared network targets? A target without a port allows every port; a
    host whose port the code does not say is allowed by a target with any port."""
    if "*" in targets:
        return True
    host = host.strip("[]").lower()
    return any(h == host and (p is None or port is None or p == port) for h, p in _declared_targets(targets))


@plugin_rule(UNDECLARED_HOST)
def undeclared_host(ctx: PluginContext) -> Iterator[Hit]:
    targets = ctx.permissions.get("network") or []
    if ctx.manifest is None or not targets or "*" in targets:
        return
    reported: set[str] = set()
    for path, use in _sources_uses(ctx, "network"):
        for host, port in use.hosts:
            shown = f"{host}:{port}" if port else host
            if host in reported or host_allowed(host, port, targets):
                continue
            reported.add(host)
            declared = ", ".join(targets[:MAX_LISTED])
            yield Hit(f"{shown} at {_where(path, use.line)} ({use.what}); declared: {declared}", path=path, line=use.line)


@plugin_rule(UNDECLARED_SUBPROCESS)
def undeclared_subprocess(ctx: PluginContext) -> Iterator[Hit]:
    if ctx.manifest is None or ctx.permissions.get("subprocess"):
        return
    evidence = _code_evidence(ctx, "subprocess")
    if evidence:
        yield _summary(evidence)


@plugin_rule(UNDECLARED_NATIVE)
def undeclared_native(ctx: PluginContext) -> Iterator[Hit]:
    if ctx.manifest is None or ctx.permissions.get("native"):
        return
    evidence = _code_evidence(ctx, "native")
    if evidence:
        yield _summary(evidence)


@plugin_rule(UNDECLARED_ENV)
def undeclared_env(ctx: PluginContext) -> Iterator[Hit]:
    """Literal names read that are not declared: medium. The whole environment read (not just handed to a
    child process): high when no variable is declared at all, medium otherwise (the loader passes only the
    declared ones). Names computed at run time: medium when nothing is declared."""
    if ctx.manifest is None:
        return
    declared = set(ctx.permissions.get("env") or [])
    env_uses = _sources_uses(ctx, "env")
    undeclared: dict[str, tuple[str, Use]] = {}
    whole: list[tuple[str, Use]] = []
    computed: list[tuple[str, Use]] = []
    for path, use in env_uses:
        if use.env_kind == "names":
            for name in use.env_names:
                if name not in declared:
                    undeclared.setdefault(name, (path, use))
        elif use.env_kind == "whole":
            whole.append((path, use))
        elif use.env_kind == "computed":
            computed.append((path, use))
    if whole:
        path, use = whole[0]
        more = f" (+{len(whole) - 1} more)" if len(whole) > 1 else ""
        if declared:
            yield Hit(f"{use.what} at {_where(path, use.line)}{more}; only {', '.join(sorted(declared)[:MAX_LISTED])} are declared", path=path, line=use.line)
        else:
            yield Hit(f"{use.what} at {_where(path, use.line)}{more}, and the manifest declares no environment variables", path=path, line=use.line, severity="high")
    if undeclared:
        names = sorted(undeclared)
        path, use = undeclared[names[0]]
        listed = ", ".join(names[:MAX_LISTED]) + (f" (+{len(names) - MAX_LISTED} more)" if len(names) > MAX_LISTED else "")
        yield Hit(f"reads {listed}, first at {_where(path, use.line)}", path=path, line=use.line)
    if computed and not declared:
        path, use = computed[0]
        yield Hit(f"{use.what} at {_where(path, use.line)}, and the manifest declares no environment variables", path=path, line=use.line)


def _under(path: str, root: str) -> bool:
    root = root.rstrip("/") or "/"
    return root == "/" or path == root or path.startswith(root + "/")


def _grants(ctx: PluginContext) -> list[tuple[str, str]]:
    return [(g["path"], g["mode"]) for g in ctx.permissions.get("filesystem") or [] if isinstance(g, dict) and g.get("path")]


@plugin_rule(UNDECLARED_FILESYSTEM)
def undeclared_filesystem(ctx: PluginContext) -> Iterator[Hit]:
    """Without any filesystem grant: one medium finding per kind of access (read, write). With or without
    grants: writing to a literal absolute path no write grant covers is high; reading a literal absolute
    path no grant covers, when there are grants, is medium."""
    if ctx.manifest is None:
        return
    grants = _grants(ctx)
    write_roots = [p for p, mode in grants if mode == "write"]
    any_roots = [p for p, _ in grants]
    reported: set[str] = set()
    for capability in ("filesystem_write", "filesystem_read"):
        accesses = _sources_uses(ctx, capability)
        if not accesses:
            continue
        if not grants:
            path, use = accesses[0]
            more = f" (+{len(accesses) - 1} more)" if len(accesses) > 1 else ""
            kind = "writes" if capability == "filesystem_write" else "reads"
            yield Hit(f"{kind} files: {use.what} at {_where(path, use.line)}{more}; the manifest grants no filesystem access", path=path, line=use.line)
        roots = write_roots if capability == "filesystem_write" else any_roots
        for path, use in accesses:
            for literal in use.paths:
                if literal in reported or any(_under(_posix(literal), root) for root in roots):
                    continue
                if capability == "filesystem_write":
                    # a literal that is only the start of a granted path ("/srv/" + name, grant /srv/app) is unclear
                    partial = any(_under(root, _posix(literal)) for root in write_roots)
                    reported.add(literal)
                    yield Hit(
                        f"writes {literal!r} at {_where(path, use.line)}, which no write grant covers",
                        path=path, line=use.line, severity="medium" if partial else "high",
                    )
                elif grants:
                    reported.add(literal)
                    yield Hit(f"reads {literal!r} at {_where(path, use.line)}, which no grant covers", path=path, line=use.line)


def _posix(path: str) -> str:
    return posixpath.normpath(path) if path.startswith("/") else path


@plugin_rule(DYNAMIC_CODE)
def dynamic_code(ctx: PluginContext) -> Iterator[Hit]:
    """Also where a file whose capabilities could not be inferred is reported (as SCAN-RULE-ERROR, by raising:
    this rule runs whatever the manifest says, so such a file is never judged clean)."""
    for src in ctx.sources:
        problem = inference_error(src)
        if problem is not None:
            raise InferenceFailed(f"capabilities of {src.path} could not be inferred: {problem}")
    evidence = _code_evidence(ctx, "dynamic_code")
    if evidence:
        yield _summary(evidence)


@plugin_rule(DRIFT)
def capability_drift(ctx: PluginContext) -> Iterator[Hit]:
    previous = ctx.scan.previous_capabilities
    if previous is None:
        return
    version = ctx.scan.previous_version or "the previous version"
    capabilities: dict[str, Any] = plugin_capabilities(ctx)
    for capability in sorted(set(capabilities) - set(previous)):
        evidence = sorted(capabilities[capability], key=lambda e: (e.path, e.line or 0))
        first = evidence[0]
        yield Hit(
            f"{capability} is new since {version} ({first.what} at {_where(first.path, first.line)})",
            path=first.path, line=first.line,
        )
