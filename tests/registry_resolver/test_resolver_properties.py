"""Properties of the resolver over random catalogues: what it returns is always a valid install plan, and
when it cannot, it says so with one of its own typed errors."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.requirements import Requirement
from packaging.version import Version

from plugyard_registry.resolver import (
    CandidateVersion,
    DependencyCycle,
    InvalidRequirement,
    NoInstallableVersion,
    ResolutionConflict,
    ResolutionError,
    ResolutionTooComplex,
    UnknownPlugin,
    normalize_name,
    resolve,
)

from . import MemoryCatalog, version

TYPED = (InvalidRequirement, UnknownPlugin, NoInstallableVersion, ResolutionConflict, DependencyCycle, ResolutionTooComplex)
VERSIONS = ["0.9", "1.0", "1.1", "1.2", "2.0", "2.1", "3.0"]
PRE_RELEASES = ["2.0b1", "3.0rc1"]
# "" and open ranges most often, as in real manifests; pins (which license yanked versions) and pre-releases sometimes
SPECIFIERS = ["", "", "", "", ">=1.0", "<2.0", ">=2.0", ">=1.1,<3", "!=1.0", "~=1.0", "==1.*", "==1.1", "==2.0", "===1.2"]
PRE_SPECIFIERS = [">=2.0b1", "==3.0rc1"]
HOST_RANGES = [""] * 9 + [">=1.0", ">=2.0", "<1.5", "~=1.0"]
HOST_VERSIONS = ["1.0", "1.5", "2.0"]
STATUSES = ["cleared"] * 16 + ["warned", "warned", "pending", "pending", "quarantined", "quarantined"]


def spelled(name: str, style: int) -> str:
    """The same name as a manifest author might write it: PEP 503 says these are all one plugin."""
    return [name, name.upper(), name.replace("-", "_"), name.replace("-", ".")][style % 4]


@dataclass
class World:
    catalog: MemoryCatalog
    candidates: list[CandidateVersion]
    request: list[str]
    host_version: str
    allow_pending: bool


# One version as plain integers (cheap for hypothesis to draw and to shrink): host range, status, yanked,
# and up to four dependencies as (where to, specifier, spelling).
_DEPENDENCY = st.tuples(st.integers(0, 99), st.integers(0, 99), st.integers(0, 3))
_VERSION = st.tuples(
    st.integers(0, len(HOST_RANGES) - 1), st.integers(0, len(STATUSES) - 1), st.integers(0, 11),
    st.lists(_DEPENDENCY, max_size=4),
)


@st.composite
def worlds(draw: st.DrawFn, *, pre_releases: bool = True, max_names: int = 7, max_versions: int = 4) -> World:
    n = draw(st.integers(1, max_names))
    names = [f"plug-{chr(ord('a') + i)}" for i in range(n)]
    pool = VERSIONS + (PRE_RELEASES if pre_releases else [])
    # Half the worlds are tidy (all cleared, open ranges): those resolve to large plans. The other half has
    # statuses, yanks, host ranges and pins: those test the refusals.
    tidy = draw(st.booleans())
    specifiers = SPECIFIERS[:11] if tidy else SPECIFIERS + (PRE_SPECIFIERS if pre_releases else [])
    candidates = []
    for i, name in enumerate(names):
        for ver in draw(st.lists(st.sampled_from(pool), min_size=1, max_size=max_versions, unique=True)):
            host, status, yank, deps = draw(_VERSION)
            if tidy and i + 1 < n and not deps:  # tidy worlds are layered: every plugin but the last needs another
                deps = [draw(_DEPENDENCY)]
            requires = []
            for where, spec, style in deps:
                # mostly "down" (a DAG); sometimes anywhere, so cycles and self-dependencies happen; rarely unknown
                if where < 80 and i + 1 < n:
                    target = names[i + 1 + where % (n - i - 1)]
                elif where < 96:
                    target = names[where % n]
                else:
                    target = "plug-missing"
                requires.append(f"{spelled(target, style)}{specifiers[spec % len(specifiers)]}")
            if tidy:
                candidates.append(version(name, ver, requires))
            else:
                candidates.append(version(name, ver, requires, host=HOST_RANGES[host], status=STATUSES[status], yanked=yank == 5))
    request = [
        f"{spelled(names[where % min(n, 3)], style)}{specifiers[spec % len(specifiers)]}"
        for where, spec, style in draw(st.lists(_DEPENDENCY, min_size=1, max_size=3))
    ]
    return World(
        catalog=MemoryCatalog(candidates), candidates=candidates, request=request,
        host_version=draw(st.sampled_from(HOST_VERSIONS)), allow_pending=draw(st.booleans()),
    )


def exact_pin(req: Requirement, v: Version) -> bool:
    return any(s.operator in ("==", "===") and not s.version.endswith(".*") and s.contains(v, prereleases=True) for s in req.specifier)


def check_plan(world: World, plan: list[CandidateVersion]) -> None:
    names = [normalize_name(c.name) for c in plan]
    assert len(names) == len(set(names)), f"a name twice: {names}"
    position = dict(zip(names, range(len(plan))))
    host = Version(world.host_version)
    top = [Requirement(r) for r in world.request]
    every: list[tuple[Requirement, CandidateVersion | None]] = [(r, None) for r in top]
    every += [(r, c) for c in plan for r in c.requires]
    wanted = {normalize_name(r.name) for r, _ in every}
    assert wanted == set(names), f"plan has {sorted(names)}, requirements name {sorted(wanted)}"
    for req, parent in every:
        name = normalize_name(req.name)
        chosen = plan[position[name]]
        assert req.specifier.contains(chosen.version, prereleases=True), f"{req} not satisfied by {chosen.label}"
        if parent is not None:
            assert position[name] < position[normalize_name(parent.name)], f"{chosen.label} is not before {parent.label}"
    for cand in plan:
        assert cand.status in ("cleared", "warned") or (world.allow_pending and cand.status == "pending"), cand
        assert cand.host.contains(host, prereleases=True), cand
        if cand.yanked:
            assert any(exact_pin(r, cand.version) for r, _ in every if normalize_name(r.name) == normalize_name(cand.name)), cand
        assert cand in world.candidates  # what the catalogue stored, cid and all


def check_cycle(world: World, err: DependencyCycle) -> None:
    labels = {c.label: c for c in world.candidates}
    assert len(err.cycle) >= 2 and err.cycle[0] == err.cycle[-1]
    for a, b in itertools.pairwise(err.cycle):
        assert any(normalize_name(r.name) == labels[b].name for r in labels[a].requires), f"{a} does not require {b}"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_a_plan_satisfies_everything_or_a_typed_error_says_why(world: World) -> None:
    try:
        plan = resolve(world.request, world.catalog, host_version=world.host_version, allow_pending=world.allow_pending)
    except ResolutionError as err:
        assert isinstance(err, TYPED), f"untyped {type(err).__name__}: {err.message}"
        assert not isinstance(err, InvalidRequirement)  # every generated requirement is valid
        assert err.message and str(err) == err.message
        if isinstance(err, DependencyCycle):
            check_cycle(world, err)
        if isinstance(err, ResolutionConflict):
            assert err.chains and all(chain for chain in err.chains)
        return
    check_plan(world, plan)


# ------------------------------------------------------------------------------ against a brute force


def brute_force_plans(world: World) -> bool:
    """Whether any set of versions (one per name; every name in it required by the request or by another member)
    satisfies the request: exhaustive."""
    host = Version(world.host_version)
    by_name: dict[str, list[CandidateVersion]] = {}
    for c in world.candidates:
        if (c.status in ("cleared", "warned") or (world.allow_pending and c.status == "pending")) and c.host.contains(host, prereleases=True):
            by_name.setdefault(c.name, []).append(c)
    names = sorted(by_name)
    top = [Requirement(r) for r in world.request]
    for choice in itertools.product(*[[None, *by_name[n]] for n in names]):
        plan = {n: c for n, c in zip(names, choice) if c is not None}
        every = top + [r for c in plan.values() for r in c.requires]
        ok = {normalize_name(r.name) for r in every} == plan.keys() and all(
            normalize_name(r.name) in plan and r.specifier.contains(plan[normalize_name(r.name)].version, prereleases=True)
            for r in every
        ) and all(
            not c.yanked or any(exact_pin(r, c.version) for r in every if normalize_name(r.name) == n) for n, c in plan.items()
        )
        if ok:
            return True
    return False


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(pre_releases=False, max_names=4, max_versions=3))
def test_no_conflict_is_reported_when_a_plan_exists(world: World) -> None:
    # Pre-releases are left out: like pip, the resolver prefers final releases even where only a
    # pre-release would have fitted, which a brute force does not model.
    try:
        resolve(world.request, world.catalog, host_version=world.host_version, allow_pending=world.allow_pending)
    except (UnknownPlugin, NoInstallableVersion, ResolutionConflict, ResolutionTooComplex) as err:
        assert not brute_force_plans(world), f"a plan exists, yet: {err.message}"
    except DependencyCycle:
        pass  # a plan exists; the newest choice has a cycle, which is reported rather than worked around
