"""The registry's search index on its own (no NATS): build time, then p50/p99 latency of typical queries, of a
publish (one upsert) and of the first search after it, on a synthetic catalogue grown from the real ElizaOS
registry (names, descriptions and topics reused with variations, plus a vocabulary of made-up words so that the
term dictionary, and so the typo matching, is as large as a real catalogue's).

usage: .venv/bin/python bench/registry_search.py [--versions N] [--disk] [--rounds R] [--json]
`measure_index(n_versions)` returns the same figures as a dict (bench/registry.py shows them beside the RPC path).
Every timed search runs with the result cache off, so a repeated query is measured in full each time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from plugyard_registry.search import SearchDocument, SearchIndex, SearchQuery

VERSIONS_PER_PLUGIN = 8  # mean; PyPI has about ten releases per project
CATEGORIES = ("ai", "social", "defi", "trading", "storage", "analytics", "media", "security", "devtools", "data",
              "messaging", "nft", "gaming", "identity", "payments", "infrastructure")
LICENSES = (("MIT", 50), ("Apache-2.0", 25), ("BSD-3-Clause", 8), ("GPL-3.0-only", 6), ("MPL-2.0", 4), (None, 7))
HOSTS = (">=1.0,<2", ">=1.0,<2", ">=1.2,<2", ">=1.4,<2", "~=1.3", ">=1.0", "", ">=2.0,<3", ">=1.5,!=1.6.0,<3", "==1.*")
PERMISSION_ODDS = (("network", 0.55), ("filesystem", 0.3), ("subprocess", 0.08), ("env", 0.35), ("native", 0.05))
QUERY_ROUNDS = 25


def find_eliza() -> Path:
    """shared/data/elizaos-registry/generated-registry.json, found from PLUGYARD_ELIZAOS_DATA or above this file / cwd."""
    env = os.environ.get("PLUGYARD_ELIZAOS_DATA")
    if env:
        return Path(env)
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for base in (start, *start.parents):
            for candidate in (base / "shared/data/elizaos-registry", base.parent / "shared/data/elizaos-registry"):
                if (candidate / "generated-registry.json").exists():
                    return candidate / "generated-registry.json"
    raise FileNotFoundError("shared/data/elizaos-registry/generated-registry.json not found (set PLUGYARD_ELIZAOS_DATA)")


def load_eliza() -> list[dict[str, Any]]:
    registry = json.loads(find_eliza().read_text())["registry"]
    plugins = []
    for package, entry in sorted(registry.items()):
        scope, _, short = package.lstrip("@").rpartition("/")
        plugins.append({
            "name": canonicalize_name(short), "scope": scope or "community", "description": (entry.get("description") or "").strip(),
            "topics": [t for t in entry.get("topics") or [] if t], "stars": entry.get("stargazers_count") or 0,
        })
    return plugins


def _made_up_words(rng: random.Random, n: int) -> list[str]:
    syllables = ["ka", "lo", "mi", "ra", "ten", "vo", "zu", "pli", "dar", "sen", "qua", "rix", "mo", "tal", "ne", "sho",
                 "bri", "gan", "fel", "ux", "or", "ith", "cal", "dre", "pon", "wy", "jas", "tor", "ble", "ek"]
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def synthetic_catalogue(n_versions: int, seed: int = 7) -> list[SearchDocument]:
    """About n_versions versions (exactly n_versions) of n_versions/8 plugins, in publication order."""
    rng = random.Random(seed)
    eliza = load_eliza()
    real_words = sorted({w.lower() for p in eliza for w in p["description"].replace(",", " ").replace(".", " ").split() if w.isalpha()})
    made_up = _made_up_words(rng, max(2_000, n_versions // 4))
    authors = [f"{rng.choice(made_up).title()} {rng.choice(made_up).title()} <dev{i}@example.org>" for i in range(max(10, n_versions // 24))]
    publishers = ["0x" + "".join(rng.choice("0123456789abcdefABCDEF") for _ in range(40)) for _ in range(max(10, n_versions // 30))]
    licenses = [lic for lic, _ in LICENSES]
    weights = [w for _, w in LICENSES]
    n_plugins = max(1, n_versions // VERSIONS_PER_PLUGIN)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    span = 365 * 24 * 3600
    docs: list[SearchDocument] = []
    names: set[str] = set()
    counts = [1 + min(int(rng.expovariate(1 / (VERSIONS_PER_PLUGIN - 1))), 200) for _ in range(n_plugins)]
    scale = n_versions / sum(counts)
    counts = [max(1, round(c * scale)) for c in counts]
    counts[-1] = max(1, counts[-1] + n_versions - sum(counts))
    for i in range(n_plugins):
        base = eliza[i % len(eliza)]
        name = base["name"] if i < len(eliza) else canonicalize_name(f"{base['name']}-{rng.choice(made_up)}")
        while name in names:
            name = canonicalize_name(f"{name}-{rng.choice(made_up)}")
        names.add(name)
        description = base["description"] or " ".join(rng.choices(real_words, k=rng.randint(8, 20))).capitalize() + "."
        description += " " + " ".join(rng.choices(made_up, k=rng.randint(5, 25)))
        summary = description.split(". ")[0][:120]
        keywords = tuple(dict.fromkeys(base["topics"][:4] + rng.sample(made_up, rng.randint(0, 3))))
        categories = tuple(rng.sample(CATEGORIES, rng.randint(1, 2)))
        license = rng.choices(licenses, weights)[0]
        plugin_authors = tuple(rng.sample(authors, rng.randint(1, 2)))
        publisher = rng.choice(publishers)
        host = rng.choice(HOSTS)
        permissions = tuple(k for k, p in PERMISSION_ODDS if rng.random() < p)
        t = start.timestamp() + rng.random() * span * 0.3
        major, minor, patch = 0, rng.randint(0, 3), 0
        for n in range(counts[i]):
            roll = rng.random()
            if roll < 0.05:
                major, minor, patch = major + 1, 0, 0
            elif roll < 0.35:
                minor, patch = minor + 1, 0
            else:
                patch += 1
            if n and rng.random() < 0.3:  # the text changes now and then
                description += " " + rng.choice(real_words + made_up)
            if n and rng.random() < 0.1:
                permissions = tuple(k for k, p in PERMISSION_ODDS if rng.random() < p)
            if n and rng.random() < 0.05:
                host = rng.choice(HOSTS)
            roll = rng.random()
            status = "cleared" if roll < 0.85 else "warned" if roll < 0.93 else "pending" if roll < 0.97 else "quarantined"
            t += rng.random() * span * 0.7 / max(1, counts[i])
            docs.append(SearchDocument(
                name=name, version=f"{major}.{minor}.{patch}", summary=summary, description=description, keywords=keywords,
                categories=categories, license=license, authors=plugin_authors, publisher=publisher, permissions=permissions,
                host=host, status=status, yanked=rng.random() < 0.03, published_at=datetime.fromtimestamp(t, UTC),
            ))
    docs.sort(key=lambda d: d.published_at)
    return docs


def typical_queries(docs: list[SearchDocument], rng: random.Random) -> dict[str, SearchQuery]:
    a_name = rng.choice(docs).name
    a_publisher = rng.choice(docs).publisher
    return {
        "word 'twitter'": SearchQuery(text="twitter"),
        "two words 'solana wallet'": SearchQuery(text="solana wallet"),
        "typo 'tradng'": SearchQuery(text="tradng"),
        "typo 'telgram bot'": SearchQuery(text="telgram bot"),
        "long typo 'blockchian'": SearchQuery(text="blockchian"),
        "broad word 'plugin'": SearchQuery(text="plugin"),
        "exact name": SearchQuery(text=a_name),
        "words + category + license": SearchQuery(text="token trading", categories=("defi",), licenses=("MIT", "Apache-2.0")),
        "word + host version + no native": SearchQuery(text="discord", host_version="1.4", without_permissions=("native",)),
        "list all by name": SearchQuery(sort="name"),
        "list all newest, page 5": SearchQuery(sort="newest", offset=100),
        "category only": SearchQuery(categories=("social",)),
        "publisher only": SearchQuery(publisher=a_publisher),
        "permission + host version": SearchQuery(with_permissions=("network",), host_version="1.2"),
        "all statuses incl. yanked": SearchQuery(text="agent", statuses=("pending", "cleared", "warned", "quarantined"), include_yanked=True),
    }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _figures(name: str, seconds: list[float]) -> dict[str, float]:
    return {f"{name}_p50_ms": _ms(statistics.median(seconds)), f"{name}_p99_ms": _ms(_percentile(seconds, 0.99))}


def _time_queries(index: SearchIndex, queries: dict[str, SearchQuery], rounds: int, rng: random.Random) -> dict[str, Any]:
    """Every query `rounds` times, in a shuffled order each round: wall and CPU time of each search."""
    per_query: dict[str, list[float]] = {label: [] for label in queries}
    cpu: list[float] = []
    totals = {label: index.search(query).total for label, query in queries.items()}  # warm-up too
    for _ in range(rounds):
        for label in rng.sample(list(queries), len(queries)):
            t, c = time.perf_counter(), time.thread_time()
            index.search(queries[label])
            per_query[label].append(time.perf_counter() - t)
            cpu.append(time.thread_time() - c)
    wall = [x for xs in per_query.values() for x in xs]
    return {
        **_figures("query", wall), **_figures("query_cpu", cpu), "query_max_ms": _ms(max(wall)), "queries_timed": len(wall),
        "per_query": {
            label: {"p50_ms": _ms(statistics.median(xs)), "p99_ms": _ms(_percentile(xs, 0.99)), "total": totals[label]}
            for label, xs in per_query.items()
        },
    }


def _time_writes(index: SearchIndex, docs: list[SearchDocument], rng: random.Random, n: int = 200) -> dict[str, Any]:
    """Publishes of a new version (with a new text: a Tantivy write, committed in the background) and then a status
    change (no Tantivy write), each followed by a search that has to see it."""
    publish: list[float] = []
    status_change: list[float] = []
    after: list[float] = []
    after_cpu: list[float] = []
    newest = {d.name: d for d in docs}
    for i, doc in enumerate(rng.sample(list(newest.values()), min(n, len(newest)))):
        new = replace(doc, version=doc.version + f".post{i}", description=doc.description + " revised", status="pending",
                      published_at=doc.published_at + timedelta(days=1))
        for write, times in ((new, publish), (replace(new, status="cleared"), status_change)):
            t = time.perf_counter()
            index.upsert(write)
            times.append(time.perf_counter() - t)
            t, c = time.perf_counter(), time.thread_time()
            index.search(SearchQuery(text="wallet"))
            after.append(time.perf_counter() - t)
            after_cpu.append(time.thread_time() - c)
    return {**_figures("publish", publish), **_figures("status_change", status_change),
            **_figures("search_after_write", after), **_figures("search_after_write_cpu", after_cpu)}


def measure_index(n_versions: int, directory: Path | None = None, rounds: int = QUERY_ROUNDS) -> dict[str, Any]:
    """Build an index of `n_versions` synthetic versions (in `directory`, else in memory) and time it. Returns build
    time; p50/p99 (ms) of typical queries, all together and each, wall clock and CPU; publish and status-change
    costs and the first search after each; with a directory, the time to open it again. Searches run with the
    result cache off."""
    rng = random.Random(11)
    docs = synthetic_catalogue(n_versions)
    load_before = os.getloadavg()[0]
    index = SearchIndex(directory, cache_size=0)
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(docs), 1000):  # the registry's catalogue applies its events in batches of 1000
        index.upsert_many(docs[i:i + 1000])
    index.flush()  # lay out, commit the text index, build the bitmaps: what the first search would otherwise do
    build_s, build_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    try:
        queries = _time_queries(index, typical_queries(docs, rng), rounds, rng)
        writes = _time_writes(index, docs, rng)
    finally:
        index.close()
    reopen_s = None
    if directory is not None:  # pick the index up again, as a restarted registry would
        started = time.perf_counter()
        with SearchIndex(directory) as again:
            again.search(SearchQuery(text="wallet"))
        reopen_s = round(time.perf_counter() - started, 2)
    return {
        "versions": n_versions, "plugins": len({d.name for d in docs}), "storage": "memory" if directory is None else "disk",
        "build_s": round(build_s, 2), "build_cpu_s": round(build_cpu_s, 2), "build_versions_per_s": round(n_versions / build_s),
        **queries, **writes, "reopen_and_first_search_s": reopen_s,
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", type=int, default=100_000)
    parser.add_argument("--disk", action="store_true", help="keep the index in a temporary directory instead of memory")
    parser.add_argument("--rounds", type=int, default=QUERY_ROUNDS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="plugyard-search-bench-") as tmp:
        result = measure_index(args.versions, Path(tmp) if args.disk else None, rounds=args.rounds)
    result["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}"
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"search index, {result['versions']:,} versions of {result['plugins']:,} plugins ({result['storage']}; {result['machine']})")
    print(f"  load average before/after: {result['load_average'][0]} / {result['load_average'][1]} (wall times include waiting for a core)")
    print(f"  build: {result['build_s']} s, {result['build_cpu_s']} s CPU ({result['build_versions_per_s']:,} versions/s, batches of 1000)")
    print(f"  typical queries: p50 {result['query_p50_ms']} ms, p99 {result['query_p99_ms']} ms, max {result['query_max_ms']} ms "
          f"({result['queries_timed']} timed, result cache off); CPU p50 {result['query_cpu_p50_ms']} ms, p99 {result['query_cpu_p99_ms']} ms")
    for label, figures in result["per_query"].items():
        print(f"    {label:34s} p50 {figures['p50_ms']:8.3f} ms  p99 {figures['p99_ms']:8.3f} ms  {figures['total']:>6} plugins")
    print(f"  publish (new version, new text): p50 {result['publish_p50_ms']} ms, p99 {result['publish_p99_ms']} ms")
    print(f"  status change: p50 {result['status_change_p50_ms']} ms, p99 {result['status_change_p99_ms']} ms")
    print(f"  first search ('wallet') after a write: p50 {result['search_after_write_p50_ms']} ms, p99 {result['search_after_write_p99_ms']} ms; "
          f"CPU p50 {result['search_after_write_cpu_p50_ms']} ms, p99 {result['search_after_write_cpu_p99_ms']} ms")
    if result["reopen_and_first_search_s"] is not None:
        print(f"  reopening the directory and a first search: {result['reopen_and_first_search_s']} s")


if __name__ == "__main__":
    main()
