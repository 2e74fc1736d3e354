"""Dependency resolution for plugins: resolvelib over the registry's stored versions.

A library, no I/O: the caller hands over a `Catalog` (every stored version of a name) and gets back the
pinned set in install order, dependencies first, or one of the typed `ResolutionError`s below, whose
`message` a person can act on. resolvelib (pip's resolver core) does the search and the backtracking;
this module decides what a candidate is, and explains failures.

Rules (issue 3, DESIGN "Decisions"):
- Names are PEP 503-normalized everywhere.
- A version is a candidate when its status is installable (cleared or warned; pending too with
  `allow_pending`, the development flag `PLUGYARD_DEV_ALLOW_PENDING=1`; quarantined never) and its `host`
  range contains the host version.
- A yanked version is a candidate only for a name that some requirement in the graph (or the request)
  pins to exactly that version with `==`/`===` (PEP 592).
- Newest first. Pre-releases only when a specifier for that name mentions one, or when no final release
  satisfies the requirements on that name (packaging's and pip's rule).
- Dependency cycles (self-dependencies included) are reported as `DependencyCycle`, never installed.
"""

from __future__ import annotations

import heapq
import logging
import os
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

import resolvelib
from resolvelib.resolvers import Resolution
from packaging.requirements import InvalidRequirement as _PackagingInvalidRequirement
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

__all__ = [
    "ALLOW_PENDING_ENV",
    "INSTALLABLE_STATUSES",
    "Catalog",
    "CandidateVersion",
    "DependencyCycle",
    "InvalidRequirement",
    "NoInstallableVersion",
    "ResolutionConflict",
    "ResolutionError",
    "ResolutionTooComplex",
    "UnknownPlugin",
    "allow_pending_from_env",
    "normalize_name",
    "parse_requirement",
    "resolve",
]

log = logging.getLogger(__name__)

ALLOW_PENDING_ENV = "PLUGYARD_DEV_ALLOW_PENDING"
INSTALLABLE_STATUSES = frozenset({"cleared", "warned"})
_LISTED = 6  # versions, requirements or chains named in a message before "and N more"
_EXPLAINED = 40  # requirements on one name looked at when explaining a failure
_CLASHES = 3  # clashing pairs told per name


@dataclass(frozen=True)
class CandidateVersion:
    """One stored version of a plugin, as the registry knows it."""

    name: str
    version: Version
    requires: tuple[Requirement, ...]
    host: SpecifierSet
    status: str  # pending | cleared | warned | quarantined
    yanked: bool
    cid: str = ""  # carried through for the caller
    status_reason: str | None = None  # who decided the status, and why ("quarantined by the scanner: …")

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"


class Catalog(Protocol):
    def versions(self, name: str) -> Sequence[CandidateVersion]:
        """Every stored version of a normalized name; [] if the name is unknown."""
        ...


# ---------------------------------------------------------------------------------------------- errors


class ResolutionError(Exception):
    """Resolution failed; `message` says why, in words a person can act on."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequirement(ResolutionError):
    """A requirement (or the host version) could not be parsed or is not a plugin requirement; names the text."""

    def __init__(self, message: str, text: str = "") -> None:
        super().__init__(message)
        self.text = text


class UnknownPlugin(ResolutionError):
    """No plugin of that name is stored; `chains` say who wanted it."""

    def __init__(self, message: str, name: str = "", chains: list[list[str]] | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.chains = chains or []


class NoInstallableVersion(ResolutionError):
    """The plugin exists but no version may be installed for the requirement; `reasons` maps version → why not."""

    def __init__(
        self, message: str, name: str = "", reasons: dict[str, str] | None = None, chains: list[list[str]] | None = None
    ) -> None:
        super().__init__(message)
        self.name = name
        self.reasons = reasons or {}
        self.chains = chains or []


class ResolutionConflict(ResolutionError):
    """Requirements clash; each chain runs from the request down to one clashing requirement."""

    def __init__(self, message: str, chains: list[list[str]] | None = None) -> None:
        super().__init__(message)
        self.chains = chains or []


class DependencyCycle(ResolutionError):
    """The pinned set has a cycle, e.g. ["a 1.0", "b 2.0", "a 1.0"]: a plugin cannot be installed before itself."""

    def __init__(self, message: str, cycle: list[str] | None = None) -> None:
        super().__init__(message)
        self.cycle = cycle or []


class ResolutionTooComplex(ResolutionError):
    """The search gave up after `max_rounds` rounds (resolvelib's ResolutionTooDeep)."""

    def __init__(self, message: str, rounds: int = 0) -> None:
        super().__init__(message)
        self.rounds = rounds


# ------------------------------------------------------------------------------------------- helpers


@lru_cache(maxsize=65536)
def normalize_name(name: str) -> str:
    """PEP 503: lower case, runs of `-_.` become `-`."""
    return canonicalize_name(name)


def allow_pending_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """The development flag: `PLUGYARD_DEV_ALLOW_PENDING=1` lets pending versions resolve."""
    value = (os.environ if environ is None else environ).get(ALLOW_PENDING_ENV, "")
    return value.strip().lower() in {"1", "true", "yes", "on"}


def parse_requirement(requirement: str | Requirement) -> Requirement:
    """A requirement on a plugin: a name and an optional version range; InvalidRequirement otherwise.

    The registry can use this on manifests' `requires` too, so that what is stored is what resolves.
    """
    if isinstance(requirement, Requirement):
        req, text = requirement, str(requirement)
    elif isinstance(requirement, str):
        text = requirement
        if not text.strip():
            raise InvalidRequirement(f"invalid requirement {text!r}: a requirement needs a plugin name", text)
        try:
            req = Requirement(text)
        except _PackagingInvalidRequirement as exc:
            detail = str(exc).splitlines()[0] if str(exc) else "cannot be parsed"
            raise InvalidRequirement(f"invalid requirement {text!r}: {detail}", text) from None
    else:
        raise InvalidRequirement(f"invalid requirement {requirement!r}: expected a string like 'name>=1.0'", repr(requirement))
    if req.url:
        raise InvalidRequirement(f"invalid requirement {text!r}: plugins come from the registry, not from a URL", text)
    if req.extras:
        raise InvalidRequirement(f"invalid requirement {text!r}: plugins have no extras", text)
    if req.marker is not None:
        raise InvalidRequirement(f"invalid requirement {text!r}: environment markers are not supported here", text)
    return req


def _parse_host_version(host_version: str | Version) -> Version:
    if isinstance(host_version, Version):
        return host_version
    try:
        return Version(str(host_version))
    except InvalidVersion:
        raise InvalidRequirement(f"invalid host version {host_version!r}: expected a version like 1.0", str(host_version)) from None


def _applies(req: Requirement) -> bool:
    """A stored dependency applies unless its environment marker is false here (extras do not exist for plugins)."""
    if req.marker is None:
        return True
    try:
        return bool(req.marker.evaluate({"extra": ""}))
    except Exception:  # a marker this environment cannot evaluate: keep the dependency rather than drop it silently
        return True


def _exact_pin(req: Requirement, version: Version) -> bool:
    """Whether `req` pins exactly `version` with `==` (not a wildcard) or `===`: PEP 592's licence for a yanked version."""
    return any(
        spec.operator in ("==", "===") and not spec.version.endswith(".*") and spec.contains(version, prereleases=True)
        for spec in req.specifier
    )


def _contains(req: Requirement, version: Version) -> bool:
    return req.specifier.contains(version, prereleases=True)


def _finals_first(cands: list[CandidateVersion], pre_release_asked: bool) -> list[CandidateVersion]:
    """Pre-releases only when a specifier mentions one, or when no final release fits (pip's rule)."""
    if pre_release_asked:
        return cands
    finals = [c for c in cands if not c.version.is_prerelease]
    return finals or cands


def _listing(items: Sequence[str], limit: int = _LISTED) -> str:
    if len(items) <= limit:
        shown = list(items)
        return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
    return ", ".join(items[:limit]) + f" and {len(items) - limit} more"


# ------------------------------------------------------------------------------------------ provider


class _Provider(resolvelib.AbstractProvider):
    """resolvelib's view of the catalogue. Identifiers are normalized names; candidates are CandidateVersions."""

    def __init__(self, catalog: Catalog, host_version: Version, allow_pending: bool, excluded: set[tuple[str, Version]]):
        self._catalog = catalog
        self._host = host_version
        self._allow_pending = allow_pending
        self._excluded = excluded
        self._stored: dict[str, list[CandidateVersion]] = {}
        self._usable: dict[str, list[CandidateVersion]] = {}
        self._deps: dict[int, list[Requirement]] = {}
        self._depths: dict[str, int] = {}
        self._fits: dict[tuple[int, int], bool] = {}
        self._pre: dict[int, bool] = {}
        self._alive: dict[int, Requirement] = {}

    # -- the catalogue, filtered

    def stored(self, name: str) -> list[CandidateVersion]:
        """Every stored version of `name`, newest first, one per version."""
        cached = self._stored.get(name)
        if cached is None:
            seen: set[Version] = set()
            cached = []
            for cand in sorted(self._catalog.versions(name), key=lambda c: c.version, reverse=True):
                if normalize_name(cand.name) == name and cand.version not in seen:
                    seen.add(cand.version)
                    cached.append(cand)
            self._stored[name] = cached
        return cached

    def status_ok(self, cand: CandidateVersion) -> bool:
        return cand.status in INSTALLABLE_STATUSES or (self._allow_pending and cand.status == "pending")

    def host_ok(self, cand: CandidateVersion) -> bool:
        return cand.host.contains(self._host, prereleases=True)

    def usable(self, name: str) -> list[CandidateVersion]:
        """Versions whose status and host range allow them here (yanks depend on the requirements: see `matching`)."""
        cached = self._usable.get(name)
        if cached is None:
            cached = [
                c for c in self.stored(name)
                if self.status_ok(c) and self.host_ok(c) and (name, c.version) not in self._excluded
            ]
            self._usable[name] = cached
        return cached

    def matching(
        self, name: str, reqs: Sequence[Requirement], bad: Iterable[CandidateVersion] = (), *, provisional: bool = False
    ) -> list[CandidateVersion]:
        """Candidates for `name` that satisfy every one of `reqs`, newest first, without the known-bad ones.

        A yanked version needs an exact pin among `reqs`. With `provisional` (the search), unpinned yanked versions
        follow the others as a last resort: the pin that licenses one may be added later in the search (resolvelib
        adds requirements one at a time), and a plan whose yanked version ends up unpinned is searched again
        without it (see `resolve`).
        """
        fits = [c for c in self.usable(name) if all(self.fits(r, c) for r in reqs)]
        licensed = [c for c in fits if not c.yanked or any(_exact_pin(r, c.version) for r in reqs)]
        pre = any(self._mentions_pre_release(r) for r in reqs)
        out = _finals_first(licensed, pre)
        if provisional and len(licensed) < len(fits):
            out += _finals_first([c for c in fits if c.yanked and not any(_exact_pin(r, c.version) for r in reqs)], pre)
        # resolvelib hands over incompatibilities as one long chain, repeats included: compare identities
        bad_ids = set(map(id, bad))
        return [c for c in out if id(c) not in bad_ids] if bad_ids else out

    def fits(self, req: Requirement, cand: CandidateVersion) -> bool:
        """`req`'s specifier contains `cand`'s version (pre-releases included), memoized: the search asks often."""
        key = (id(req), id(cand))
        hit = self._fits.get(key)
        if hit is None:
            hit = self._fits[key] = _contains(req, cand.version)
            self._alive[id(req)] = req  # keeps the id in the key this requirement's (candidates live in _stored)
        return hit

    def _mentions_pre_release(self, req: Requirement) -> bool:
        hit = self._pre.get(id(req))
        if hit is None:
            hit = self._pre[id(req)] = bool(req.specifier.prereleases)
            self._alive[id(req)] = req
        return hit

    def dependencies(self, cand: CandidateVersion) -> list[Requirement]:
        """The candidate's dependencies that apply, self-dependencies included (those are cycles)."""
        cached = self._deps.get(id(cand))
        if cached is None:
            cached = [r for r in cand.requires if _applies(r)]
            self._deps[id(cand)] = cached
        return cached

    # -- resolvelib's provider interface (resolvelib 1.1+: narrow_requirement_selection, backtrack_causes)

    def identify(self, requirement_or_candidate: Requirement | CandidateVersion) -> str:
        return normalize_name(requirement_or_candidate.name)

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, CandidateVersion],
        candidates: Mapping[str, Iterator[CandidateVersion]],
        information: Mapping[str, Iterator[Any]],
        backtrack_causes: Sequence[Any],
    ) -> tuple[bool, int, str]:
        # Exact pins first (one choice, and they make yanked versions eligible before anything else picks a
        # version of that name); then breadth first, which keeps explanations short; then by name.
        pinned = False
        depth = self._depths.get(identifier)
        parent_depths = []
        for info in information[identifier]:
            if not pinned and any(s.operator in ("==", "===") and not s.version.endswith(".*") for s in info.requirement.specifier):
                pinned = True
            if info.parent is None:
                parent_depths.append(0)
            else:
                parent_depths.append(self._depths.get(self.identify(info.parent), 1 << 20))
        if parent_depths:
            depth = min(parent_depths) + 1
            self._depths[identifier] = depth
        return (not pinned, depth if depth is not None else 1 << 20, identifier)

    def narrow_requirement_selection(
        self,
        identifiers: Iterable[str],
        resolutions: Mapping[str, CandidateVersion],
        candidates: Mapping[str, Iterator[CandidateVersion]],
        information: Mapping[str, Iterator[Any]],
        backtrack_causes: Sequence[Any],
    ) -> Iterable[str]:
        # Like pip: after a conflict, work on the names involved in it first.
        identifiers = list(identifiers)
        if not backtrack_causes:
            return identifiers
        involved = set()
        for cause in backtrack_causes:
            involved.add(self.identify(cause.requirement))
            if cause.parent is not None:
                involved.add(self.identify(cause.parent))
        narrowed = [i for i in identifiers if i in involved]
        return narrowed or identifiers

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Requirement]],
        incompatibilities: Mapping[str, Iterator[CandidateVersion]],
    ) -> list[CandidateVersion]:
        reqs = list(requirements[identifier])
        return self.matching(identifier, reqs, incompatibilities[identifier], provisional=True)

    def is_satisfied_by(self, requirement: Requirement, candidate: CandidateVersion) -> bool:
        return self.fits(requirement, candidate)

    def get_dependencies(self, candidate: CandidateVersion) -> list[Requirement]:
        # A self-dependency is a cycle: kept out of the search (resolvelib would chase it), reported afterwards.
        name = self.identify(candidate)
        return [r for r in self.dependencies(candidate) if normalize_name(r.name) != name]


class _Resolution(Resolution):
    """resolvelib's search, with one fix.

    After a pin, resolvelib drops the requirements of every candidate that the pin made unsatisfying
    (`_remove_information_from_criteria`), expecting it to be re-pinned. But the requirement that made it
    unsatisfying can itself be dropped later (its own parent displaced in turn); the candidate then satisfies
    everything again, stays pinned, and its dependencies are no longer required: resolvelib 1.2.1 returns
    b 2.0 with c 2.0 although b 2.0 requires c~=1.0 (test_a_displaced_pin_keeps_its_dependencies). Unpinning
    the candidate whose requirements were dropped keeps the invariant that a pin's requirements are in the
    criteria: it is pinned again, possibly to the same version, and its dependencies come back with it.
    """

    def _remove_information_from_criteria(self, criteria: Any, parents: Any) -> None:
        super()._remove_information_from_criteria(criteria, parents)
        for name in parents:
            self.state.mapping.pop(name, None)


class _Backtracking(_Resolution):
    """The second opinion: resolvelib's search with plain chronological backtracking instead of backjumping.

    Backjumping can skip the one decision that would resolve a conflict and report ResolutionImpossible for
    a request that has a plan (resolvelib#206, open; the property test finds such catalogues). When the first
    search fails, this one tries again: it undoes the latest pin first, always. It is slower on real conflicts,
    so it only runs after a failure, its own failure is not reported (the first search's explanation is),
    and whatever it finds is checked like any plan.
    """

    def _backjump(self, causes: Any) -> bool:
        while len(self._states) >= 3:
            del self._states[-1]
            broken_state = self._states.pop()
            if not broken_state.mapping:
                return False
            name, candidate = broken_state.mapping.popitem()
            incompatibilities = [(k, list(v.incompatibilities)) for k, v in broken_state.criteria.items()]
            incompatibilities.append((name, [candidate]))
            self._push_new_state()
            if self._patch_criteria(incompatibilities):
                return True
        return False


# ------------------------------------------------------------------------------------- explanations


class _Step(NamedTuple):
    requirement: Requirement
    parent: CandidateVersion | None


class _Recorder(resolvelib.BaseReporter):
    """Remembers every requirement the search added and who added it, to explain a failure later."""

    def __init__(self) -> None:
        self.roots: list[Requirement] = []
        self.parents: dict[tuple[str, Version], CandidateVersion] = {}
        self.edges: dict[tuple[str, Version], dict[str, Requirement]] = defaultdict(dict)
        self.conflicts: list[list[Any]] = []

    def resolving_conflicts(self, causes: Any) -> None:
        self.conflicts.append(list(causes))

    def adding_requirement(self, requirement: Requirement, parent: CandidateVersion | None) -> None:
        if parent is None:
            self.roots.append(requirement)
            return
        key = (normalize_name(parent.name), parent.version)
        self.parents.setdefault(key, parent)
        self.edges[key].setdefault(str(requirement), requirement)

    def derivations(self) -> dict[tuple[str, Version], list[_Step]]:
        """For every candidate the search tried, the shortest chain of requirements from the request to it."""
        by_name: dict[str, list[tuple[str, Version]]] = defaultdict(list)
        for key in self.parents:
            by_name[key[0]].append(key)
        chains: dict[tuple[str, Version], list[_Step]] = {}
        queue: deque[tuple[str, Version]] = deque()
        for req in self.roots:
            for key in by_name.get(normalize_name(req.name), ()):
                if key not in chains and _contains(req, key[1]):
                    chains[key] = [_Step(req, None)]
                    queue.append(key)
        while queue:
            key = queue.popleft()
            parent = self.parents[key]
            for req in self.edges[key].values():
                for dep in by_name.get(normalize_name(req.name), ()):
                    if dep not in chains and _contains(req, dep[1]):
                        chains[dep] = [*chains[key], _Step(req, parent)]
                        queue.append(dep)
        return chains


def _chain_strings(chain: list[_Step]) -> list[str]:
    """Top-down: ["app==1.0", "lib-a>=2 (from app 1.0)", ...]."""
    return [str(s.requirement) if s.parent is None else f"{s.requirement} (from {s.parent.label})" for s in chain]


def _context(chain: list[_Step], *, name_the_root: bool) -> str:
    """Why the last requirement of `chain` is there: "required by summarizer 1.2 ← your request summarizer"."""
    if len(chain) == 1:
        return f"your request {chain[0].requirement}" if name_the_root else "your request"
    parents = [s.parent.label for s in reversed(chain) if s.parent is not None]
    return "required by " + " ← ".join(parents) + f" ← your request {chain[0].requirement}"


class _Explainer:
    """Turns a failed search into one of the typed errors, with chains from the request down to each culprit.

    resolvelib reports only the last dead end (often the oldest version it tried). The recorder kept every
    conflict met on the way; those touching a name of the last dead end are told too, so that the message
    says why the newer versions were given up as well.
    """

    def __init__(
        self, provider: _Provider, recorder: _Recorder, request: list[Requirement], host_version: Version, allow_pending: bool
    ):
        self._p = provider
        self._recorder = recorder
        self._request = request
        self._derivations = recorder.derivations()
        self._host = host_version
        self._allow_pending = allow_pending

    def chain(self, step: _Step) -> list[_Step]:
        if step.parent is None:
            return [step]
        above = self._derivations.get((normalize_name(step.parent.name), step.parent.version))
        return [*(above or []), step]

    def _order(self, step: _Step) -> tuple[int, int, str, int]:
        """Tell requirements in the order of the request that brought them in, nearest first, newest parent first."""
        chain = self.chain(step)
        root = chain[0].requirement
        index = next((i for i, r in enumerate(self._request) if r is root or str(r) == str(root)), len(self._request))
        age = 0
        if step.parent is not None:  # position among the parent's stored versions, newest first
            stored = [c.version for c in self._p.stored(normalize_name(step.parent.name))]
            age = stored.index(step.parent.version) if step.parent.version in stored else len(stored)
        return (index, len(chain), str(step.requirement), age)

    def explain(self, final_causes: Iterable[Any]) -> ResolutionError:
        final = [_Step(c.requirement, c.parent) for c in final_causes]
        involved = {normalize_name(s.requirement.name) for s in final}
        involved |= {normalize_name(s.parent.name) for s in final if s.parent is not None}
        steps = list(final)
        for conflict in self._recorder.conflicts:
            if any(
                normalize_name(c.requirement.name) in involved or (c.parent is not None and normalize_name(c.parent.name) in involved)
                for c in conflict
            ):
                steps.extend(_Step(c.requirement, c.parent) for c in conflict)
        groups: dict[str, dict[tuple[str, str, str], _Step]] = {}
        for step in steps:
            key = (str(step.requirement), step.parent.name if step.parent else "", str(step.parent.version) if step.parent else "")
            groups.setdefault(normalize_name(step.requirement.name), {}).setdefault(key, step)

        clashes: list[tuple[str, list[list[_Step]]]] = []
        unknown: list[tuple[str, list[_Step]]] = []
        unavailable: list[tuple[str, list[_Step]]] = []
        rest: list[tuple[str, list[_Step]]] = []
        for name, by_key in groups.items():
            # nearest first; a long search can gather hundreds of requirements on one name, and the first few
            # dozen are enough to explain it (the pairwise check below is quadratic)
            group = sorted(by_key.values(), key=self._order)[:_EXPLAINED]
            if not self._p.stored(name):
                unknown.append((name, group))
                continue
            alone = [s for s in group if not self._p.matching(name, [s.requirement])]
            if alone:
                unavailable.append((name, alone))
            others = [s for s in group if s not in alone]
            pairs = self._clashing_pairs(name, others)
            if pairs:
                clashes.append((name, pairs))
            elif not alone and others:
                rest.append((name, others))

        parts: list[str] = []
        chains: list[list[str]] = []
        for name, pairs in clashes:
            parts.append(self._say_clashes(name, pairs))
            chains.extend(_chain_strings(self.chain(s)) for s in dict.fromkeys(s for pair in pairs for s in pair))
        for name, group in unknown:
            parts.append(self._say_unknown(name, group))
            chains.extend(_chain_strings(self.chain(s)) for s in group)
        reasons: dict[str, str] = {}
        for name, group in unavailable:
            said, why = self._say_unavailable(name, group)
            parts.append(said)
            reasons.update(why)
            chains.extend(_chain_strings(self.chain(s)) for s in group)
        if not parts:
            for name, group in rest:
                parts.append(
                    f"cannot satisfy {_listing([self._say(s) for s in group], limit=len(group))} together with the rest "
                    f"of the request: every version of {name} that fits needs something that conflicts"
                )
                chains.extend(_chain_strings(self.chain(s)) for s in group)
        if not parts:  # resolvelib gave no causes: should not happen, but say something true
            return ResolutionConflict("the requirements cannot be satisfied together")
        message = "; ".join(parts)
        if clashes or not (unknown or unavailable):
            return ResolutionConflict(message, chains=chains)
        if unknown:
            name, group = unknown[0]
            return UnknownPlugin(message, name=name, chains=chains)
        return NoInstallableVersion(message, name=unavailable[0][0], reasons=reasons, chains=chains)

    def _clashing_pairs(self, name: str, steps: list[_Step]) -> list[list[_Step]]:
        """Pairs of requirements that no version satisfies together, brought in by chains that could be installed
        together (two versions of one plugin never are, so what they require does not clash)."""
        pinned_by = {id(s): {c.name: c.version for c in (x.parent for x in self.chain(s)) if c is not None} for s in steps}

        def together(a: _Step, b: _Step) -> bool:
            pa, pb = pinned_by[id(a)], pinned_by[id(b)]
            return all(pb.get(name, version) == version for name, version in pa.items())

        return [
            [a, b] for i, a in enumerate(steps) for b in steps[i + 1:]
            if together(a, b) and not self._p.matching(name, [a.requirement, b.requirement])
        ]

    def _say(self, step: _Step, also: Sequence[str] = ()) -> str:
        text = f"{step.requirement} ({_context(self.chain(step), name_the_root=False)}"
        if also and step.parent is not None:
            text += f"; also by {step.parent.name} {_listing(also)}"
        return text + ")"

    def _say_clashes(self, name: str, pairs: list[list[_Step]]) -> str:
        # The same requirement from several versions of one parent is told once: "(required by notes 0.3 ...;
        # also by notes 0.2)", the other versions being ones the search tried and gave up for the same reason.
        merged: dict[tuple[str, str], list[_Step]] = {}
        for step in (s for pair in pairs for s in pair):
            group = merged.setdefault((str(step.requirement), step.parent.name if step.parent else ""), [])
            if step not in group:
                group.append(step)
        for (text, parent_name), group in merged.items():
            if parent_name:
                known = {s.parent.version for s in group if s.parent is not None}
                for key, parent in self._recorder.parents.items():
                    if parent.name == parent_name and key[1] not in known and text in self._recorder.edges[key]:
                        group.append(_Step(self._recorder.edges[key][text], parent))
                        known.add(key[1])
            group.sort(key=lambda s: s.parent.version if s.parent else Version("0"), reverse=True)

        def rep(step: _Step) -> tuple[str, str]:
            return (str(step.requirement), step.parent.name if step.parent else "")

        told: list[tuple[tuple[str, str], tuple[str, str]]] = []
        for a, b in pairs:
            ka, kb = sorted((rep(a), rep(b)), key=lambda k: self._order(merged[k][0]))
            if ka != kb and (ka, kb) not in told:
                told.append((ka, kb))

        def say(key: tuple[str, str]) -> str:
            group = merged[key]
            return self._say(group[0], [str(s.parent.version) for s in group[1:] if s.parent is not None])

        sentences = [f"cannot satisfy both {say(a)} and {say(b)}" for a, b in told[:_CLASHES]]
        if len(told) > _CLASHES:
            sentences.append(f"and {len(told) - _CLASHES} more clashes on {name}")
        available = [str(c.version) for c in self._p.matching(name, [])]
        text = "; ".join(sentences)
        return text + (f" ({name} has {_listing(available)})" if available else f" ({name} has no installable version)")

    def _say_unknown(self, name: str, steps: list[_Step]) -> str:
        contexts = [_context(self.chain(s), name_the_root=True) for s in steps]
        more = f"; and {len(contexts) - _LISTED} more" if len(contexts) > _LISTED else ""
        return f"no plugin named {name} ({'; also '.join(contexts[:_LISTED])}{more})"

    def _why_not(self, name: str, cand: CandidateVersion, req: Requirement) -> str:
        v = cand.version
        if not _contains(req, v):
            return f"not in {req.specifier}"
        if cand.status == "quarantined":
            return _quarantined(cand.status_reason)
        if cand.status == "pending" and not self._allow_pending:
            return f"pending its scan ({ALLOW_PENDING_ENV}=1 allows pending versions in development)"
        if not self._p.status_ok(cand):
            return f"{cand.status}, not cleared"
        if not self._p.host_ok(cand):
            return f"only for host {cand.host} (this host is {self._host})"
        if cand.yanked and not _exact_pin(req, v):
            return "yanked (only an exact pin, ==VERSION, selects it)"
        if (name, v) in self._p._excluded:
            return "yanked, and no plan that fits keeps the exact pin that selects it"
        return "not selectable"

    def _say_unavailable(self, name: str, steps: list[_Step]) -> tuple[str, dict[str, str]]:
        stored = self._p.stored(name)
        parts, reasons_all = [], {}
        for step in steps:
            reasons = {str(c.version): self._why_not(name, c, step.requirement) for c in stored}
            reasons_all.update(reasons)
            by_reason: dict[str, list[str]] = {}
            for version, reason in reasons.items():
                by_reason.setdefault(reason, []).append(version)
            said = "; ".join(
                f"{_listing(versions)} {'is' if len(versions) == 1 else 'are'} {reason}" for reason, versions in by_reason.items()
            )
            parts.append(f"no installable version of {name} for {self._say(step)}: {said}")
        return "; ".join(parts), reasons_all


def _quarantined(reason: str | None) -> str:
    """Says "quarantined: <reason>", without repeating the word when the reason starts with it ("quarantined by the scanner: …")."""
    if not reason:
        return "quarantined"
    return reason if reason.startswith("quarantined") else f"quarantined: {reason}"


# -------------------------------------------------------------------------------------------- resolve


def resolve(
    requirements: Sequence[str | Requirement],
    catalog: Catalog,
    *,
    host_version: str | Version = "1.0",
    allow_pending: bool = False,
    max_rounds: int = 2000,
) -> list[CandidateVersion]:
    """The pinned set for `requirements`, in install order (dependencies first, ties by name).

    Raises InvalidRequirement, UnknownPlugin, NoInstallableVersion, ResolutionConflict, DependencyCycle or
    ResolutionTooComplex, all ResolutionErrors; never resolvelib's own exceptions.
    """
    if isinstance(requirements, (str, Requirement)):
        requirements = [requirements]
    reqs = [parse_requirement(r) for r in requirements]
    host = _parse_host_version(host_version)
    if not reqs:
        return []
    # An unpinned yanked version is only a last resort of the search (its `==` may come later), and an `==` can
    # leave the graph after the version it licensed was pinned. A plan that keeps a yanked version without an
    # exact pin for it is searched again without that version; each round excludes at least one more, so this ends.
    excluded: set[tuple[str, Version]] = set()
    while True:
        provider = _Provider(catalog, host, allow_pending, excluded)
        state = _search(reqs, provider, host, allow_pending, max_rounds)
        pins = _closure(reqs, state.mapping, provider)
        stray = _unlicensed_yanks(reqs, pins, provider)
        if not stray:
            break
        excluded.update(stray)
    order = _install_order(pins, provider)
    if allow_pending:
        pending = [c.label for c in order if c.status == "pending"]
        if pending:
            log.warning("resolved pending (unscanned) versions, as allowed for development (%s): %s", ALLOW_PENDING_ENV, ", ".join(pending))
    return order


def _search(reqs: list[Requirement], provider: _Provider, host: Version, allow_pending: bool, max_rounds: int) -> Any:
    """resolvelib's final state for `reqs`, or the typed error that explains why there is none."""
    recorder = _Recorder()
    try:
        # resolvelib's Resolution rather than Resolver: Resolver.resolve() ends in _build_result(), whose
        # recursive _has_route_to_root() never returns when leftover pins form a cycle that no longer hangs
        # from the request (found by the property test). _closure() walks the pins that matter instead.
        return _Resolution(provider, recorder).resolve(reqs, max_rounds=max_rounds)
    except resolvelib.ResolutionImpossible as exc:
        error = _Explainer(provider, recorder, reqs, host, allow_pending).explain(exc.causes)
    except resolvelib.ResolutionTooDeep as exc:
        raise ResolutionTooComplex(
            f"gave up after {exc.round_count} rounds of searching for versions that fit together; "
            "pin some of the plugins (name==version) to narrow the search",
            rounds=exc.round_count,
        ) from None
    except resolvelib.resolvers.ResolverException as exc:
        raise ResolutionError(f"the resolver failed: {exc}") from exc
    except RecursionError:
        raise ResolutionError("the resolver failed: the dependency graph is too deep to walk") from None
    try:
        return _Backtracking(provider, resolvelib.BaseReporter()).resolve(reqs, max_rounds=max_rounds)
    except (resolvelib.resolvers.ResolverException, RecursionError):
        raise error from None


def _closure(reqs: list[Requirement], mapping: Mapping[str, CandidateVersion], provider: _Provider) -> dict[str, CandidateVersion]:
    """The pins reachable from the request through the pinned versions' own dependencies, checked."""
    pins: dict[str, CandidateVersion] = {}
    todo = [(r, None) for r in reqs]
    while todo:
        req, parent = todo.pop()
        name = normalize_name(req.name)
        cand = mapping.get(name)
        if cand is None or not _contains(req, cand.version):
            if parent is not None and normalize_name(parent.name) == name:
                continue  # an unsatisfied self-dependency: reported as a cycle below
            wanted = "your request" if parent is None else parent.label
            raise ResolutionError(f"the resolver failed: {req} (from {wanted}) is not satisfied by its result")
        if name not in pins:
            pins[name] = cand
            todo.extend((r, cand) for r in provider.dependencies(cand))
    return pins


def _unlicensed_yanks(reqs: list[Requirement], pins: dict[str, CandidateVersion], provider: _Provider) -> set[tuple[str, Version]]:
    wanted: dict[str, list[Requirement]] = defaultdict(list)
    for req in [*reqs, *(r for c in pins.values() for r in provider.dependencies(c))]:
        wanted[normalize_name(req.name)].append(req)
    return {
        (name, cand.version) for name, cand in pins.items()
        if cand.yanked and not any(_exact_pin(r, cand.version) for r in wanted[name])
    }


def _install_order(pins: dict[str, CandidateVersion], provider: _Provider) -> list[CandidateVersion]:
    """Dependencies first, ties by name; DependencyCycle when there is no such order."""
    deps: dict[str, set[str]] = {
        name: {normalize_name(r.name) for r in provider.dependencies(cand)} & pins.keys() for name, cand in pins.items()
    }
    cycle = _find_cycle(deps)
    if cycle:
        labels = [pins[n].label for n in cycle]
        steps = []
        for a, b in zip(cycle, cycle[1:]):
            texts = [str(r) for r in provider.dependencies(pins[a]) if normalize_name(r.name) == b]
            steps.append(f"{pins[a].label} requires {texts[0] if texts else b}")
        what = "depends on itself" if len(cycle) == 2 else "is part of a dependency cycle"
        raise DependencyCycle(
            f"dependency cycle: {' → '.join(labels)} ({'; '.join(steps)}); {labels[0]} {what}, "
            "and a plugin cannot be installed before itself",
            cycle=labels,
        )
    dependents: dict[str, list[str]] = defaultdict(list)
    waiting = {name: len(d) for name, d in deps.items()}
    for name, d in deps.items():
        for dep in d:
            dependents[dep].append(name)
    ready = [name for name, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        name = heapq.heappop(ready)
        order.append(pins[name])
        for up in dependents[name]:
            waiting[up] -= 1
            if waiting[up] == 0:
                heapq.heappush(ready, up)
    return order


def _find_cycle(deps: dict[str, set[str]]) -> list[str] | None:
    """The first cycle met walking names and their dependencies in name order, as [a, b, ..., a]; None if none."""
    colour: dict[str, int] = {}  # 1 on the path, 2 done
    for root in sorted(deps):
        if root in colour:
            continue
        path = [root]
        colour[root] = 1
        stack = [iter(sorted(deps[root]))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                colour[path.pop()] = 2
                stack.pop()
            elif colour.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            elif nxt not in colour:
                colour[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(deps[nxt])))
    return None
