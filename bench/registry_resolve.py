"""How long the registry's resolver takes on a realistic catalogue: 1,000 plugins by default.

usage: .venv/bin/python bench/registry_resolve.py [--plugins N] [--repeat R] [--json]

The catalogue is built from a fixed seed, so every run resolves the same graph:
- plugins in five layers, from a few foundations (used by many) to many applications (used by none);
  dependencies point to lower layers only, chosen by popularity (a few libraries are required by most);
- 3 to 8 versions each, semver-like (1.0.0 … 3.4.2), published in order;
- each version requires 0 to 5 others with the ranges people write (`>=1.2,<2`, `~=2.1`, `>=1.0`, bare names),
  newer versions asking for newer majors of their dependencies, so that some requests need backtracking;
- host ranges (`>=1.0`; a few newest versions need host >=2.0, which this host at 1.4 is not), statuses
  (mostly cleared, some warned, pending and quarantined), and a few yanked versions.
Each top-level request is resolved `repeat` times (after one warm-up); the report gives median and p99 in
milliseconds per request and over all of them, and, apart, the time to explain a request that conflicts.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
from collections.abc import Callable, Sequence
from importlib.metadata import version as installed_version

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from plugyard_registry.resolver import CandidateVersion, ResolutionConflict, ResolutionError, resolve

SEED = 20261125
HOST_VERSION = "1.4"
LAYER_SHARES = (0.03, 0.07, 0.15, 0.30, 0.45)  # foundations … applications
WORDS = (
    "text summarize vector embed search index chat voice image audio pdf calendar mail crypto wallet price feed news "
    "weather sql graph cache queue auth token oauth discord slack telegram twitter github notion drive sheet translate "
    "ocr speech vision market trade swap bridge nft solana evm agent memory planner scheduler webhook cron metrics log"
).split()


class BenchCatalog:
    """An in-memory catalogue: what the registry's projection hands the resolver."""

    def __init__(self, candidates: Sequence[CandidateVersion]) -> None:
        self.by_name: dict[str, list[CandidateVersion]] = {}
        for cand in candidates:
            self.by_name.setdefault(cand.name, []).append(cand)

    def versions(self, name: str) -> Sequence[CandidateVersion]:
        return self.by_name.get(name, [])


def _versions(rng: random.Random) -> list[Version]:
    """3–8 increasing semver-like versions."""
    major, minor, patch = 1, 0, 0
    out = []
    for _ in range(rng.randint(3, 8)):
        out.append(Version(f"{major}.{minor}.{patch}"))
        step = rng.random()
        if step < 0.15:
            major, minor, patch = major + 1, 0, 0
        elif step < 0.6:
            minor, patch = minor + 1, 0
        else:
            patch += 1
    return out


def _range(rng: random.Random, target: Version, pick_newer: bool) -> str:
    """A range a manifest author would write for a dependency whose chosen version is `target`."""
    major, minor = target.major, target.minor
    if not pick_newer and major > 1 and rng.random() < 0.5:
        major, minor = major - 1, 0
    roll = rng.random()
    if roll < 0.35:
        return f">={major}.{minor},<{major + 1}"
    if roll < 0.55:
        return f"~={major}.{minor}"
    if roll < 0.8:
        return f">={major}.{minor}"
    if roll < 0.9:
        return ""
    return f">={major}.0,!={major}.{minor}.0"


def build_catalog(n_plugins: int = 1000, seed: int = SEED) -> tuple[BenchCatalog, dict[str, object]]:
    rng = random.Random(seed)
    names: list[str] = []
    layers: list[list[str]] = []
    for share in LAYER_SHARES:
        layer = []
        for _ in range(max(1, round(n_plugins * share))):
            if len(names) >= n_plugins:
                break
            while True:
                name = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{len(names)}"
                if name not in names:
                    break
            names.append(name)
            layer.append(name)
        layers.append(layer)
    popularity = {name: rng.paretovariate(1.2) for name in names}
    versions = {name: _versions(rng) for name in names}

    candidates: list[CandidateVersion] = []
    edges = 0
    for depth, layer in enumerate(layers):
        below = [n for lower in layers[:depth] for n in lower]
        weights = [popularity[n] for n in below]
        for name in layer:
            wanted = sorted(set(rng.choices(below, weights, k=rng.randint(0, 5)))) if below else []
            history = versions[name]
            for i, ver in enumerate(history):
                newness = i / max(1, len(history) - 1)
                requires = []
                for dep in wanted:
                    if rng.random() < 0.1 and i > 0:
                        continue  # a dependency dropped in this version
                    dep_versions = versions[dep]
                    # older versions of a plugin were written against older versions of their dependencies
                    target = dep_versions[min(len(dep_versions) - 1, int(newness * len(dep_versions)))]
                    requires.append(Requirement(f"{dep}{_range(rng, target, pick_newer=newness > 0.5)}"))
                edges += len(requires)
                newest = i == len(history) - 1
                host = ">=2.0" if newest and rng.random() < 0.05 else (">=1.0,<2" if rng.random() < 0.3 else ">=1.0")
                roll = rng.random()
                status = "cleared" if roll < 0.9 else "warned" if roll < 0.95 else "pending" if roll < 0.98 else "quarantined"
                candidates.append(CandidateVersion(
                    name=name, version=ver, requires=tuple(requires), host=SpecifierSet(host), status=status,
                    yanked=rng.random() < 0.02, cid=f"bafk-{name}-{ver}",
                ))
    shape = {
        "n_plugins": len(names), "n_versions": len(candidates), "n_dependency_edges": edges,
        "layers": [len(layer) for layer in layers],
    }
    return BenchCatalog(candidates), shape


def pick_requests(catalog: BenchCatalog, n_plugins: int, seed: int = SEED) -> tuple[list[list[str]], list[str] | None]:
    """A few requests a user would make (one application, several together, one with a pin, one with a range),
    each checked to have a plan, and one that fails with a conflict, as some requests do in any real catalogue."""
    rng = random.Random(seed + 1)
    apps = list(catalog.by_name)[-round(n_plugins * LAYER_SHARES[-1]):]

    def outcome(request: list[str]) -> int | type:
        try:
            return len(resolve(request, catalog, host_version=HOST_VERSION))
        except ResolutionError as exc:
            return type(exc)

    workable: list[str] = []
    failing: list[str] | None = None
    for name in rng.sample(apps, len(apps)):
        got = outcome([name])
        if isinstance(got, int) and got >= 8:
            workable.append(name)
        elif got is ResolutionConflict and failing is None:
            failing = [name]
        if len(workable) >= 24 and failing:
            break
    pool = iter(workable)

    def fitting(size: int, shape: Callable[[list[str]], list[str]]) -> list[str]:
        for _ in range(len(workable)):
            request = shape([next(pool, workable[0]) for _ in range(size)])
            if isinstance(outcome(request), int):
                return request
        raise RuntimeError(f"no {size}-application request has a plan in this catalogue")

    def pinned(names: list[str]) -> list[str]:
        versions = catalog.by_name[names[0]]
        return [f"{names[0]}=={versions[len(versions) // 2].version}"]

    requests = [
        fitting(1, list), fitting(2, list), fitting(1, pinned), fitting(3, list), fitting(1, lambda n: [f"{n[0]}>=1.0"]),
    ]
    return requests, failing


def measure_resolve(n_plugins: int = 1000, repeat: int = 30, seed: int = SEED) -> dict:
    """Build the catalogue, then time resolving each request `repeat` times (after a warm-up).

    `median_ms` and `p99_ms` are over every resolve of the requests that have a plan; the failing request
    (a conflict, explained) is reported on its own line, as `conflict`.
    """
    catalog, shape = build_catalog(n_plugins, seed)
    requests, failing = pick_requests(catalog, n_plugins, seed)
    report: dict = {**shape, "host_version": HOST_VERSION, "repeat": repeat, "requests": []}
    every: list[float] = []
    for request in requests:
        row = _time_request(catalog, request, repeat)
        every.extend(row.pop("times"))
        report["requests"].append(row)
    report.update(_summary(every))
    report["samples"] = len(every)
    if failing:
        row = _time_request(catalog, failing, max(3, repeat // 5))
        row.pop("times")
        report["conflict"] = row
    report["python"] = platform.python_version()
    report["resolvelib"] = installed_version("resolvelib")
    return report


def _time_request(catalog: BenchCatalog, request: list[str], repeat: int) -> dict:
    try:
        plan = resolve(request, catalog, host_version=HOST_VERSION)  # the warm-up, and what the request gives
        outcome = f"{len(plan)} pinned"
    except ResolutionError as exc:
        outcome = f"{type(exc).__name__}: {exc.message[:160]}…"
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            resolve(request, catalog, host_version=HOST_VERSION)
        except ResolutionError:
            pass
        times.append((time.perf_counter() - started) * 1000)
    return {"request": request, "outcome": outcome, **_summary(times), "times": times}


def _summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"median_ms": round(statistics.median(ordered), 2), "p99_ms": round(p99, 2), "max_ms": round(ordered[-1], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plugins", type=int, default=1000, help="plugins in the catalogue (default 1000)")
    parser.add_argument("--repeat", type=int, default=30, help="resolves per request (default 30)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    report = measure_resolve(args.plugins, args.repeat)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(
        f"catalogue: {report['n_plugins']} plugins, {report['n_versions']} versions, {report['n_dependency_edges']} "
        f"dependency edges (layers {report['layers']}); host {report['host_version']}; resolvelib {report['resolvelib']}"
    )
    for row in report["requests"]:
        print(f"  {' '.join(row['request']):<64} {row['outcome']:<12} median {row['median_ms']:8.2f} ms  p99 {row['p99_ms']:8.2f} ms")
    print(f"all {report['samples']} resolves with a plan: median {report['median_ms']:.2f} ms, p99 {report['p99_ms']:.2f} ms")
    if "conflict" in report:
        row = report["conflict"]
        print(f"a request that conflicts ({' '.join(row['request'])}): median {row['median_ms']:.2f} ms, max {row['max_ms']:.2f} ms")
        print(f"  {row['outcome']}")


if __name__ == "__main__":
    main()
