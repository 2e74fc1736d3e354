"""The registry at scale (issue 3), each figure beside the limit it is measured against, in one run:
- start-up: the service (a process of its own, `python -m plugyard_registry`) answering its health RPC, which it
  does once it has rebuilt its catalogue and search index from its events, beside the same rebuild in this process;
- search p50/p99 through the RPC (`plugyard.rpc.registry.search` over NATS) beside the same queries straight on
  the index rebuilt in this process from the same events (the limit), and the aim: RPC p99 under 50 ms;
- resolve: bench/registry_resolve.py's 1,000-plugin graph and requests, seeded into the same registry, through the
  RPC beside the same requests in process (the registry's catalogue) and beside measure_resolve (the resolver on
  prebuilt versions); then one large install (a request pinning --deep-tree plugins), through the RPC and in
  process, with searches sent while it runs;
- publish: real signed publishes through the RPC (packed as the CLI packs, signed, put in the object store,
  published), per second, beside bare NATS request/reply round trips.

usage: .venv/bin/python bench/registry.py [--versions N] [--requests N] [--publishes N] [--resolve-repeat N]
                                          [--deep-tree N] [--json]

The catalogue: N versions in all, of which bench/registry_resolve.py's graph (1,000 plugins, 5,480 versions) and
the rest bench/registry_search.py's synthetic_catalogue (names, descriptions and topics of the ElizaOS registry,
varied, about 8 versions per plugin). It is recorded through the registry's own write path: a RegistryApplication
(its read model switched off while seeding) saving `Plugin` aggregates (PluginRegistered, VersionPublished,
VersionYanked), 500 plugins per `save()`, with manifests validated as `plugin.toml` is. No scanner exists yet, so
every version is "pending": the service and this process both run with PLUGYARD_DEV_ALLOW_PENDING=1, which lets
search and resolve show pending versions. The seeded events are marked as already relayed (the outbox relay's
tracking position set to the last one), as in a registry that has been running: otherwise the service would spend
its first minutes republishing 100k events to JetStream while being measured. nats-server runs with
`sync_interval: always`, as `plugyard up` runs it.

Search queries: eight kinds (one word, two words, a typo, an exact name, words + category + licence, word + host
version + no native code, browsing a category with a permission by newest, a publisher), each instantiated with
different words or values, all distinct, so the service's result cache (64 answers) never answers one; the same
queries, in the same order, then run on the in-process index (same class and defaults). A repeated query (a cache
hit) and the health RPC show the floor of a search through the RPC.

The service is started through a one-line wrapper that adds a gc callback logging each full (oldest-generation)
collection and its length; the report places them in the bench's phases.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import hashlib
import json
import logging
import os
import platform
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ["PLUGYARD_DEV_ALLOW_PENDING"] = "1"  # before the registry is imported: this process's catalogue matches the service's

from eth_account import Account
from eth_utils import to_checksum_address
from eventsourcing.persistence import Tracking
from nats.errors import NoRespondersError
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from plugyard_artifacts.cid import cid_of
from plugyard_artifacts.pack import pack
from plugyard_artifacts.release import inspect_archive
from plugyard_artifacts.signing import ReleaseStatement, sign
from plugyard_core.artifact_store import put_artifact
from plugyard_core.connection import connect
from plugyard_core.embedded_nats import EmbeddedNats, free_port
from plugyard_core.eventstore import PlugyardApplication
from plugyard_core.rpc import RpcError, call
from plugyard_core.streams import EVENTS_STREAM, rpc_subject
from plugyard_registry.application import RegistryApplication
from plugyard_registry.catalog import Catalog
from plugyard_registry.domain import Plugin
from plugyard_registry.resolver import ResolutionConflict, ResolutionError, resolve
from plugyard_registry.search import SearchDocument, SearchQuery
from plugyard_schemas.manifest import PluginManifest
from plugyard_registry.handlers import hit_fields
from plugyard_schemas.registry import PublishReply, PublishRequest, ResolveReply, ResolveRequest, SearchHit, SearchReply, SearchRequest
from plugyard_schemas.rpc import HealthReply, HealthRequest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from registry_resolve import HOST_VERSION, build_catalog, measure_resolve, pick_requests  # noqa: E402
from registry_search import CATEGORIES, load_eliza, synthetic_catalogue  # noqa: E402

PLUGINS_PER_SAVE = 500
QUERY_KINDS = 8
GRAPH_PLUGINS = 1000  # bench/registry_resolve.py's catalogue, seeded into the registry too
DEEP_TREE = 300  # plugins in the large install (one request pinning them all)
RESOLVE_HOST = HOST_VERSION
START_TIMEOUT_S = 900
# `python -m plugyard_registry`, plus a gc callback that logs every full (oldest-generation) collection and its length
SERVICE_WITH_GC_LOG = """
import gc, sys, time
_started = [0.0]
def _full_collections(phase, info):
    if info["generation"] == 2:
        if phase == "start":
            _started[0] = time.perf_counter()
        else:
            print(f"bench-gc2 {time.time():.3f} {(time.perf_counter() - _started[0]) * 1000:.1f}", file=sys.stderr, flush=True)
gc.callbacks.append(_full_collections)
import runpy
runpy.run_module("plugyard_registry", run_name="__main__", alter_sys=True)
"""
PERMISSION_GRANTS = {
    "network": {"network": ["api.example.org:443"]},
    "filesystem": {"filesystem": [{"path": "/var/lib/plugin-data", "mode": "read"}]},
    "subprocess": {"subprocess": True},
    "env": {"env": ["API_KEY"]},
    "native": {"native": True},
}
STOPWORDS = frozenset("a an and are as at be by for from in into is it of on or the this to with your you that its can".split())


# ---------------------------------------------------------------------------------------------------- figures


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def latency(values: list[float]) -> dict[str, float]:
    return {"p50_ms": ms(statistics.median(values)), "p99_ms": ms(percentile(values, 0.99)), "max_ms": ms(max(values)), "n": len(values)}


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return None


class GcPauses:
    """Collections of the oldest generation (the ones that walk every object) while in use: count and longest."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._started)

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def figures(self) -> dict[str, Any]:
        return {"count": len(self.pauses), "max_ms": ms(max(self.pauses)) if self.pauses else 0.0, "total_ms": ms(sum(self.pauses))}


# ---------------------------------------------------------------------------------------------------- seeding


class SeedingApplication(RegistryApplication):
    """The registry's application without its read model (no catalogue rebuilt on opening, none kept current on
    saving): the events recorded are the service's own, and indexing them is left to whoever reads them back (the
    service at start, and this bench once, as the service does)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        PlugyardApplication.__init__(self, *args, **kwargs)
        self.allow_pending = True
        self.catalog = None

    def _notify(self, recordings: list[Any]) -> None:
        pass


def manifest_of(doc: SearchDocument, requires: tuple[str, ...] = ()) -> dict[str, Any]:
    info: dict[str, Any] = {
        "name": doc.name, "version": doc.version, "summary": doc.summary, "description": doc.description,
        "authors": list(doc.authors), "keywords": list(doc.keywords), "categories": list(doc.categories),
        "entry": f"{doc.name.replace('-', '_')}:Plugin", "host": doc.host or ">=1.0", "requires": list(requires),
    }
    if doc.license:
        info["license"] = doc.license
    permissions: dict[str, Any] = {}
    for kind in doc.permissions:
        permissions.update(PERMISSION_GRANTS[kind])
    return {"plugin": info, "permissions": permissions}


class ManifestCache:
    """Manifests as the registry stores them (validated, dumped as `ArchiveRelease.manifest_data`); validated in full
    once per plugin and again whenever anything but the version changes, which keeps seeding 100k versions cheap."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}

    def get(self, doc: SearchDocument, requires: tuple[str, ...] = ()) -> dict[str, Any]:
        key = (doc.summary, doc.keywords, doc.categories, doc.license, doc.authors, doc.permissions, doc.host, requires)
        last = self._last.get(doc.name)
        if last is None or last[0] != key:
            raw = manifest_of(doc, requires)
            dumped = PluginManifest.model_validate(raw).model_dump(mode="json", by_alias=True, exclude_none=True)
            self._last[doc.name] = (key, dumped)
            return dumped
        # only the version or the description (free text) changed
        return {**last[1], "plugin": {**last[1]["plugin"], "version": doc.version, "description": doc.description}}


def deep_tree(docs: list[SearchDocument], rng: random.Random, size: int) -> tuple[str, dict[tuple[str, str], tuple[str, ...]]]:
    """Requirements that make `size` seeded plugins one dependency graph under a root plugin (the first): plugin i
    (i >= 1) is required by a random earlier one, and each also requires up to two random later ones (a DAG, so no
    cycles; depth ~ e·ln(size)). Each requirement is `>=` the second newest unyanked version, so two versions fit.
    Only plugins whose every version allows host API 1.4 (what the resolves ask for) are chosen.
    Returns the root's name and {(name, version): requires} for every version of those plugins."""
    versions: dict[str, list[SearchDocument]] = {}
    for doc in docs:
        versions.setdefault(doc.name, []).append(doc)
    host = Version(RESOLVE_HOST)
    allows = {h: host in SpecifierSet(h) for h in {d.host for d in docs}}
    names = [n for n, vs in versions.items() if sum(not d.yanked for d in vs) >= 2 and all(allows[d.host] for d in vs)]
    rng.shuffle(names)
    chosen = names[:size]

    def floor(name: str) -> str:
        ordered = sorted((Version(d.version) for d in versions[name] if not d.yanked), reverse=True)
        return str(ordered[1])

    needs: list[set[str]] = [set() for _ in chosen]
    for i in range(1, len(chosen)):
        needs[rng.randrange(i)].add(chosen[i])
        for j in rng.sample(range(i + 1, len(chosen)), min(len(chosen) - i - 1, rng.randint(0, 2))):
            needs[i].add(chosen[j])
    requires: dict[tuple[str, str], tuple[str, ...]] = {}
    for name, wanted in zip(chosen, needs):
        reqs = tuple(f"{p}>={floor(p)}" for p in sorted(wanted))
        for doc in versions[name]:
            requires[(name, doc.version)] = reqs
    return (chosen[0] if chosen else ""), requires


def fast_cid(data: bytes) -> str:
    """cid_of(data) without multiformats (~1.5 ms a call here: its runtime type checks), checked against it once."""
    return "b" + base64.b32encode(b"\x01\x55\x12\x20" + hashlib.sha256(data).digest()).decode().lower().rstrip("=")


assert fast_cid(b"plugyard") == cid_of(b"plugyard")


def graph_documents(graph: Any) -> tuple[list[SearchDocument], dict[tuple[str, str], tuple[str, ...]]]:
    """bench/registry_resolve.py's 1,000-plugin catalogue as documents to publish: every version with its requires,
    host range and yank (its statuses cannot be recorded: without a scanner every version is pending)."""
    start = datetime(2025, 6, 1, tzinfo=UTC)
    publisher = to_checksum_address("0x" + hashlib.sha256(b"graph-publisher").hexdigest()[:40])
    docs, requires = [], {}
    for i, cand in enumerate(c for versions in graph.by_name.values() for c in versions):
        words = cand.name.split("-")[:2]
        docs.append(SearchDocument(
            name=cand.name, version=str(cand.version), summary=f"{' '.join(words).capitalize()} for agents",
            description=f"Connects {words[0]} and {words[1]}: a plugin of the resolver benchmark's graph.", keywords=tuple(dict.fromkeys(words)),
            categories=("devtools",), license="MIT", authors=("Graph Author <graph@example.org>",), publisher=publisher, permissions=(),
            host=str(cand.host), status=cand.status, yanked=cand.yanked, published_at=start + timedelta(minutes=i),
        ))
        requires[(cand.name, str(cand.version))] = tuple(str(r) for r in cand.requires)
    return docs, requires


def seed(data_dir: Path, docs: list[SearchDocument], requires: dict[tuple[str, str], tuple[str, ...]]) -> dict[str, Any]:
    """Record every document as the registry would: PluginRegistered, VersionPublished per version, VersionYanked."""
    app = SeedingApplication(data_dir=data_dir)
    manifests = ManifestCache()
    by_plugin: dict[str, list[SearchDocument]] = {}
    for doc in docs:
        by_plugin.setdefault(doc.name, []).append(doc)
    started = time.perf_counter()
    events = 0
    batch: list[Plugin] = []
    checksummed: dict[str, str] = {}
    for name, versions in by_plugin.items():
        owner = checksummed.setdefault(versions[0].publisher, to_checksum_address(versions[0].publisher.lower()))
        plugin = Plugin(name=name, owner=owner)
        for doc in versions:
            manifest = manifests.get(doc, requires.get((doc.name, doc.version), ()))
            unique = f"{doc.name}=={doc.version}".encode()
            plugin.publish(
                version=doc.version, cid=fast_cid(unique), publisher=owner, signature="0x" + hashlib.sha512(unique).hexdigest()[:130],
                manifest=manifest, manifest_sha256=hashlib.sha256(unique + b"/plugin.toml").hexdigest(),
                size=2_000 + len(doc.description) * 3, sha256=hashlib.sha256(unique).hexdigest(), published_at=doc.published_at.isoformat(),
            )
            if doc.yanked:
                plugin.yank(version=doc.version, reason="broken build", by=owner)
        batch.append(plugin)
        if len(batch) == PLUGINS_PER_SAVE:
            events += len(app.save(*batch))
            batch = []
    if batch:
        events += len(app.save(*batch))
    elapsed = time.perf_counter() - started
    last = app.recorder.max_notification_id() or 0
    # The history counts as relayed already (see the module's docstring).
    app.recorder.insert_tracking(Tracking(f"outbox:{EVENTS_STREAM}", last))
    app.close()
    return {"plugins": len(by_plugin), "events": events, "seconds": round(elapsed, 1), "events_per_s": round(events / elapsed)}


# ---------------------------------------------------------------------------------------------------- queries


def vocabulary(docs: list[SearchDocument]) -> list[str]:
    """Words of the real ElizaOS descriptions that recur (the words people search for)."""
    counts: Counter[str] = Counter()
    for plugin in load_eliza():
        counts.update({w for w in re.findall(r"[a-z]{4,}", plugin["description"].lower()) if w not in STOPWORDS})
    return sorted(w for w, n in counts.items() if n >= 3)


def typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    if rng.random() < 0.5:
        return word[:i] + word[i + 1:]  # a dropped letter
    return word[:i - 1] + word[i] + word[i - 1] + word[i + 1:]  # two letters swapped


def query_mix(docs: list[SearchDocument], per_kind: int, rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    """`per_kind` distinct queries of each of eight kinds, shuffled: (kind, SearchRequest fields)."""
    words = vocabulary(docs)
    long_words = [w for w in words if len(w) >= 6]
    names = sorted({d.name for d in docs})
    publishers = sorted({to_checksum_address(d.publisher.lower()) for d in docs})
    hosts = ["1.0", "1.2", "1.3", "1.4", "1.5", "2.0", "2.1"]
    licenses = [["MIT"], ["MIT", "Apache-2.0"], ["Apache-2.0"], ["GPL-3.0-only", "MPL-2.0"]]
    makers = {
        "one word": lambda: {"text": rng.choice(words)},
        "two words": lambda: {"text": " ".join(rng.sample(words, 2))},
        "typo": lambda: {"text": typo(rng.choice(long_words), rng)},
        "exact name": lambda: {"text": rng.choice(names)},
        "words + category + licence": lambda: {"text": rng.choice(words), "categories": [rng.choice(CATEGORIES)], "licenses": rng.choice(licenses)},
        "word + host + no native": lambda: {"text": rng.choice(words), "host_version": rng.choice(hosts), "without_permissions": ["native"]},
        "browse category + permission, newest": lambda: {
            "categories": sorted(rng.sample(CATEGORIES, rng.randint(1, 2))), "with_permissions": [rng.choice(list(PERMISSION_GRANTS))],
            "sort": "newest", "offset": rng.choice([0, 20, 40])},
        "publisher": lambda: {"publisher": rng.choice(publishers)},
    }
    queries: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()
    for kind, make in makers.items():
        made = 0
        for _ in range(per_kind * 50):
            fields = make()
            key = json.dumps({k: v for k, v in fields.items() if k not in ("offset", "limit")}, sort_keys=True)  # what the cache keys on
            if key in seen:
                continue
            seen.add(key)
            queries.append((kind, fields))
            made += 1
            if made == per_kind:
                break
    rng.shuffle(queries)
    return queries


def search_query(fields: dict[str, Any]) -> SearchQuery:
    return SearchQuery(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})


def by_kind(samples: list[tuple[str, float]]) -> dict[str, dict[str, float]]:
    kinds: dict[str, list[float]] = {}
    for kind, seconds in samples:
        kinds.setdefault(kind, []).append(seconds)
    return {kind: latency(values) for kind, values in kinds.items()}


# ---------------------------------------------------------------------------------------------------- the service


async def wait_healthy(nc, process: subprocess.Popen, log: Path) -> dict[str, Any]:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the registry exited with code {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            reply = await call(nc, rpc_subject("registry", "health"), HealthRequest(), HealthReply, timeout=0.5)
            return reply.details
        except RpcError:
            await asyncio.sleep(0.1)
    raise TimeoutError(f"the registry did not answer its health RPC within {START_TIMEOUT_S} s")


async def bare_round_trips(url: str, count: int) -> dict[str, Any]:
    """nats-py request/reply to a responder that echoes (its own connection), one at a time, a publish-sized body."""
    responder = await connect("bench-echo", url)
    requester = await connect("bench-request", url)

    async def echo(msg) -> None:
        await msg.respond(msg.data)

    await responder.subscribe("bench.echo", cb=echo)
    await responder.flush()
    body = b"x" * 300
    for _ in range(100):  # until the subscription is seen
        try:
            await requester.request("bench.echo", body, timeout=5)
            break
        except NoRespondersError:
            await asyncio.sleep(0.05)
    for _ in range(50):
        await requester.request("bench.echo", body, timeout=5)
    times = []
    started = time.perf_counter()
    for _ in range(count):
        t = time.perf_counter()
        await requester.request("bench.echo", body, timeout=5)
        times.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - started
    await requester.close()
    await responder.close()
    return {**latency(times), "per_s": round(count / elapsed)}


def make_plugin(root: Path, name: str, version: str, summary: str, keywords: list[str]) -> Path:
    directory = root / f"{name}-{version}"
    module = name.replace("-", "_")
    (directory / module).mkdir(parents=True)
    (directory / module / "__init__.py").write_text(f"class Plugin:\n    def hello(self, who):\n        return {{'greeting': 'Hello, ' + who + ' from {name} {version}'}}\n")
    (directory / "plugin.toml").write_text(textwrap.dedent(f"""\
        [plugin]
        name = "{name}"
        version = "{version}"
        summary = "{summary}"
        description = "{summary}. Published by the registry benchmark."
        authors = ["Bench Author <bench@example.org>"]
        license = "MIT"
        keywords = {json.dumps(keywords)}
        categories = ["devtools"]
        entry = "{module}:Plugin"
        host = ">=1.0,<2"

        [permissions]
        network = ["api.example.org:443"]
        """))
    return directory


def prepare_publishes(root: Path, count: int, words: list[str], rng: random.Random) -> list[tuple[Any, Any]]:
    """`count` signed releases, packed as the CLI packs them: count/2 new plugins, then a second version of each."""
    accounts = [Account.from_key(hashlib.sha256(f"plugyard-bench-{i}".encode()).digest()) for i in range(8)]
    firsts = (count + 1) // 2
    plans = []
    for i in range(firsts):
        plans.append((f"bench-{rng.choice(words)}-{i}", "1.0.0", accounts[i % len(accounts)]))
    for i in range(count - firsts):
        name, _, account = plans[i]
        plans.append((name, "1.1.0", account))
    prepared = []
    for name, version, account in plans:
        directory = make_plugin(root, name, version, f"{' '.join(rng.sample(words, 4)).capitalize()} for agents", rng.sample(words, 2))
        packed = pack(directory, root / f"{name}-{version}.tar.gz")
        release = inspect_archive(packed.path.read_bytes())
        statement = ReleaseStatement(name=release.name, version=release.version, cid=release.cid, manifest_sha256=release.manifest_sha256)
        prepared.append((release, PublishRequest(cid=release.cid, publisher=account.address, signature=sign(statement, account))))
    return prepared


# ---------------------------------------------------------------------------------------------------- the run


async def run(args: argparse.Namespace) -> dict[str, Any]:
    began = time.perf_counter()
    phases: dict[str, float] = {}
    windows: dict[str, tuple[float, float]] = {}  # wall-clock spans, to place the service's GC pauses

    def mark(name: str, started: float) -> None:
        phases[name] = time.perf_counter() - started
        windows[name] = (time.time() - phases[name], time.time())
    rng = random.Random(5)
    with tempfile.TemporaryDirectory(prefix="plugyard-registry-bench-") as tmp_name:
        tmp = Path(tmp_name)
        data_dir = tmp / "data"

        t = time.perf_counter()
        graph, graph_shape = build_catalog(GRAPH_PLUGINS)
        graph_requests = pick_requests(graph, GRAPH_PLUGINS)
        graph_docs, requires = graph_documents(graph)
        synthetic = synthetic_catalogue(max(1, args.versions - len(graph_docs)))
        root, tree_requires = deep_tree(synthetic, rng, min(args.deep_tree, len({d.name for d in synthetic}) // 2))
        if {d.name for d in synthetic} & graph.by_name.keys():
            raise RuntimeError("a synthetic plugin has the name of one in the resolver's graph")
        requires.update(tree_requires)
        docs = synthetic + graph_docs
        mark("generate", t)

        t = time.perf_counter()
        seeded = seed(data_dir, docs, requires)
        mark("seed", t)

        # the limit for start-up and the index the same queries run on in-process: the service's own rebuild
        t = time.perf_counter()
        reader = SeedingApplication(data_dir=data_dir)
        catalog = Catalog(allow_pending=True)
        rebuild_started = time.perf_counter()
        with GcPauses() as rebuild_gc:
            catalog.rebuild(reader)
        rebuild_s = time.perf_counter() - rebuild_started
        reader.close()
        s = time.perf_counter()
        gc.collect()  # what one full collection costs a process holding this catalogue (the service holds one too)
        full_gc_s = time.perf_counter() - s
        mark("in-process rebuild", t)

        server = EmbeddedNats(tmp / "nats", free_port())
        server.start()
        log = tmp / "registry.log"
        env = {**os.environ, "PLUGYARD_NATS_URL": server.url, "PLUGYARD_DATA_DIR": str(data_dir), "PLUGYARD_DEV_ALLOW_PENDING": "1"}
        nc = await connect("bench-registry", server.url)
        service = None
        try:
            t = time.perf_counter()
            with open(log, "wb") as out:
                service = subprocess.Popen([sys.executable, "-c", SERVICE_WITH_GC_LOG], env=env, stdout=out, stderr=subprocess.STDOUT)
            details = await wait_healthy(nc, service, log)
            startup_s = time.perf_counter() - t
            mark("service start", t)
            if details.get("versions") != len(catalog.index):
                raise RuntimeError(f"the service indexed {details.get('versions')} versions, this process {len(catalog.index)}")
            service_rss = rss_mib(service.pid)

            # 1. search through the RPC, then 2. the same queries on the in-process index
            t = time.perf_counter()
            per_kind = max(1, args.requests // QUERY_KINDS)
            everything = query_mix(docs, per_kind + 3, random.Random(17))
            warm, timed = [], []
            counts: Counter[str] = Counter()
            for kind, fields in everything:
                (warm if counts[kind] < 3 else timed).append((kind, fields))
                counts[kind] += 1
            subject = rpc_subject("registry", "search")
            rpc_samples, totals = [], {}
            for kind, fields in warm:
                await call(nc, subject, SearchRequest(**fields), SearchReply, timeout=60)
            for kind, fields in timed:
                request = SearchRequest(**fields)
                s = time.perf_counter()
                reply = await call(nc, subject, request, SearchReply, timeout=60)
                rpc_samples.append((kind, time.perf_counter() - s))
                totals.setdefault(kind, []).append(reply.total)
            repeated = []
            request = SearchRequest(**timed[0][1])
            for _ in range(100):
                s = time.perf_counter()
                await call(nc, subject, request, SearchReply)
                repeated.append(time.perf_counter() - s)
            health = []
            for _ in range(100):
                s = time.perf_counter()
                await call(nc, rpc_subject("registry", "health"), HealthRequest(), HealthReply)
                health.append(time.perf_counter() - s)
            mark("search via RPC", t)

            t = time.perf_counter()
            index = catalog.index
            for kind, fields in warm:
                index.search(search_query(fields))
            local_samples, mismatched = [], 0
            pauses = GcPauses()
            with pauses:
                for kind, fields in timed:
                    query = search_query(fields)
                    s = time.perf_counter()
                    index.search(query)
                    local_samples.append((kind, time.perf_counter() - s))
            # what the RPC adds around index.search, measured here: the handler's SearchHit/SearchReply building and
            # encoding, and the client's decoding (same queries)
            encode = []
            for kind, fields in timed:
                result = index.search(search_query(fields))
                s = time.perf_counter()
                hits = [SearchHit.model_validate(hit_fields(hit)) for hit in result.hits]
                body = SearchReply(total=result.total, hits=hits, facets=result.facets).model_dump_json().encode()
                SearchReply.model_validate(json.loads(body))
                SearchRequest(**fields).model_dump_json()
                encode.append(time.perf_counter() - s)
            # a full collection with the catalogue frozen out of the collector's view (gc.freeze(), as a service could
            # do after its rebuild), beside the unfrozen one measured after the rebuild
            gc.freeze()
            s = time.perf_counter()
            gc.collect()
            frozen_gc_s = time.perf_counter() - s
            gc.unfreeze()
            # the two indexes hold the same versions: the answers must agree
            for kind, fields in timed[:40]:
                reply = await call(nc, subject, SearchRequest(**fields), SearchReply, timeout=60)
                local = index.search(search_query(fields))
                if reply.total != local.total or [h.name for h in reply.hits] != [h.name for h in local.hits]:
                    mismatched += 1
            mark("search in process", t)

            # 3. resolve: bench/registry_resolve.py's requests on its 1,000-plugin graph, through the RPC and in process
            t = time.perf_counter()
            graph_rpc, graph_local, outcomes = [], [], []
            resolve_subject = rpc_subject("registry", "resolve")
            for requirements in graph_requests:
                request = ResolveRequest(requirements=requirements, host_version=RESOLVE_HOST)
                rpc_outcome = await resolve_outcome_rpc(nc, resolve_subject, request)  # warm-up, and the answer
                local_outcome = resolve_outcome_local(requirements, catalog)
                outcomes.append({"request": requirements, "rpc": rpc_outcome, "in_process": local_outcome})
                for _ in range(args.resolve_repeat):
                    s = time.perf_counter()
                    await resolve_outcome_rpc(nc, resolve_subject, request)
                    graph_rpc.append(time.perf_counter() - s)
                for _ in range(args.resolve_repeat):
                    s = time.perf_counter()
                    resolve_outcome_local(requirements, catalog)
                    graph_local.append(time.perf_counter() - s)
            if any(o["rpc"] != o["in_process"] for o in outcomes):
                raise RuntimeError(f"resolves differ between the RPC and this process: {outcomes}")
            mark("resolve graph via RPC and in process", t)

            # and a large install: one request pinning the deep tree, through the RPC and in process
            t = time.perf_counter()
            resolve_rpc, resolve_local, during_resolve, health_during_resolve, pinned = [], [], [], [], 0
            if root:
                request = ResolveRequest(requirements=[root], host_version=RESOLVE_HOST)
                for _ in range(args.resolves):
                    s = time.perf_counter()
                    reply = await call(nc, rpc_subject("registry", "resolve"), request, ResolveReply, timeout=120)
                    resolve_rpc.append(time.perf_counter() - s)
                    pinned = len(reply.install_order)
                for _ in range(args.resolves):
                    s = time.perf_counter()
                    local_pins = resolve([root], catalog, host_version=RESOLVE_HOST, allow_pending=True)
                    resolve_local.append(time.perf_counter() - s)
                if len(local_pins) != pinned:
                    raise RuntimeError(f"resolve pinned {pinned} plugins through the RPC, {len(local_pins)} in process")
                # does a resolve hold up other RPCs? searches, and health calls, sent one after another while one runs
                resolving = asyncio.ensure_future(call(nc, rpc_subject("registry", "resolve"), request, ResolveReply, timeout=120))
                await asyncio.sleep(0.02)
                probe = SearchRequest(**timed[1][1])

                async def health_probes() -> None:
                    while not resolving.done():
                        s = time.perf_counter()
                        await call(nc, rpc_subject("registry", "health"), HealthRequest(), HealthReply, timeout=120)
                        health_during_resolve.append(time.perf_counter() - s)
                        await asyncio.sleep(0.01)

                healths = asyncio.ensure_future(health_probes())
                while not resolving.done():
                    s = time.perf_counter()
                    await call(nc, subject, probe, SearchReply, timeout=120)
                    during_resolve.append(time.perf_counter() - s)
                await resolving
                await healths
            mark("large install resolve", t)
            del catalog, index  # the in-process index is no longer needed; free its memory before publishing

            # 4. publishes through the RPC beside bare request/reply
            t = time.perf_counter()
            words = vocabulary(docs)
            prepared = prepare_publishes(tmp / "plugins", args.publishes, words, random.Random(23))
            prepare_s = time.perf_counter() - t
            js = nc.jetstream()
            uploads, publishes, after = [], [], []
            created = 0
            started = time.perf_counter()
            for release, request in prepared:
                s = time.perf_counter()
                await put_artifact(js, release.cid, release.data)
                m = time.perf_counter()
                reply = await call(nc, rpc_subject("registry", "publish"), request, PublishReply, timeout=60)
                e = time.perf_counter()
                uploads.append(m - s)
                publishes.append(e - m)
                created += reply.created
                s = time.perf_counter()
                await call(nc, subject, SearchRequest(text=release.name), SearchReply, timeout=60)  # the first search after a write
                after.append(time.perf_counter() - s)
            publish_s = sum(uploads) + sum(publishes)
            if created != len(prepared):
                raise RuntimeError(f"{len(prepared) - created} publishes were not new")
            found = await call(nc, subject, SearchRequest(text=prepared[-1][0].name), SearchReply)
            if not found.hits or found.hits[0].name != prepared[-1][0].name:
                raise RuntimeError("a published plugin is not found by its name")
            bare = await bare_round_trips(server.url, 2000)
            mark("publish", t)
            details_after = await call(nc, rpc_subject("registry", "health"), HealthRequest(), HealthReply)
        finally:
            await nc.close()
            t = time.perf_counter()
            if service is not None and service.poll() is None:
                service.send_signal(signal.SIGTERM)
                try:
                    service.wait(60)
                except subprocess.TimeoutExpired:
                    service.kill()
                    service.wait()
            mark("service stop", t)
            server.stop()

        service_gc = service_gc_pauses(log.read_text(errors="replace"), windows)

    # the resolver alone on the same graph and requests (prebuilt candidates, no registry catalogue)
    t = time.perf_counter()
    resolver_alone = measure_resolve(GRAPH_PLUGINS, repeat=args.resolve_repeat)
    mark("measure_resolve", t)

    rpc_all = [s for _, s in rpc_samples]
    local_all = [s for _, s in local_samples]
    return {
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "versions": len(docs), "plugins": seeded["plugins"],
        "seed": seeded,
        "startup": {"service_s": round(startup_s, 1), "in_process_rebuild_s": round(rebuild_s, 1),
                    "ratio": round(startup_s / rebuild_s, 2), "service_rss_mib": service_rss, "health": details,
                    "full_gc_in_process_ms": ms(full_gc_s), "full_gc_during_in_process_rebuild": rebuild_gc.figures(), "full_gc_in_process_frozen_ms": ms(frozen_gc_s)},
        "service_full_gc_by_phase": service_gc,
        "search": {
            "rpc": latency(rpc_all), "in_process": latency(local_all),
            "ratio_p50": round(statistics.median(rpc_all) / statistics.median(local_all), 2),
            "ratio_p99": round(percentile(rpc_all, 0.99) / percentile(local_all, 0.99), 2),
            "aim_rpc_p99_ms": 50, "aim_met": percentile(rpc_all, 0.99) < 0.050,
            "rpc_by_kind": by_kind(rpc_samples), "in_process_by_kind": by_kind(local_samples),
            "plugins_found_median_by_kind": {k: statistics.median(v) for k, v in totals.items()},
            "answers_differing": mismatched, "reply_encode_decode": latency(encode), "gc_gen2_during_in_process_searches": pauses.figures(),
            "repeated_query_rpc": latency(repeated), "health_rpc": latency(health),
        },
        "resolve_graph": {
            **graph_shape, "requests": outcomes, "repeat": args.resolve_repeat,
            "rpc": latency(graph_rpc), "in_process": latency(graph_local),
            "ratio_p50": round(statistics.median(graph_rpc) / statistics.median(graph_local), 2),
            "resolver_alone": {k: resolver_alone[k] for k in ("median_ms", "p99_ms", "max_ms", "samples", "requests", "resolvelib")},
            "in_process_over_resolver_alone_p50": round(statistics.median(graph_local) * 1000 / resolver_alone["median_ms"], 2),
        },
        "resolve_rpc": {
            "root": root, "plugins_pinned": pinned, "rpc": latency(resolve_rpc) if resolve_rpc else None,
            "in_process": latency(resolve_local) if resolve_local else None,
            "ratio_p50": round(statistics.median(resolve_rpc) / statistics.median(resolve_local), 2) if resolve_rpc else None,
            "search_during_resolve": latency(during_resolve) if during_resolve else None,
            "health_during_resolve": latency(health_during_resolve) if health_during_resolve else None,
        },
        "publish": {
            "count": len(prepared), "prepare_s": round(prepare_s, 1),
            "per_s": round(len(prepared) / publish_s, 1), "upload": latency(uploads), "publish_rpc": latency(publishes),
            "search_after_publish": latency(after), "bare_request_reply": bare,
            "ratio": round(len(prepared) / publish_s / bare["per_s"], 4),
            "versions_after": details_after.details.get("versions"),
        },
        "phases_s": {k: round(v, 1) for k, v in phases.items()},
        "total_s": round(time.perf_counter() - began, 1),
    }


def service_gc_pauses(log: str, windows: dict[str, tuple[float, float]]) -> dict[str, Any]:
    """The service's full collections, by the bench phase they fell in."""
    by_phase: dict[str, list[float]] = {}
    for line in log.splitlines():
        if line.startswith("bench-gc2 "):
            _, at, length = line.split()
            phase = next((name for name, (a, b) in windows.items() if a <= float(at) <= b), "between phases")
            by_phase.setdefault(phase, []).append(float(length))
    return {phase: {"count": len(v), "max_ms": max(v), "total_ms": round(sum(v), 1)} for phase, v in by_phase.items()}


async def resolve_outcome_rpc(nc, subject: str, request: ResolveRequest) -> str:
    try:
        reply = await call(nc, subject, request, ResolveReply, timeout=120)
    except RpcError as exc:
        return f"error {exc.code}"
    return f"{len(reply.install_order)} pinned"


def resolve_outcome_local(requirements: list[str], catalog: Catalog) -> str:
    try:
        return f"{len(resolve(requirements, catalog, host_version=RESOLVE_HOST, allow_pending=True))} pinned"
    except ResolutionConflict:
        return "error conflict"
    except ResolutionError as exc:
        return f"error {'not_found' if type(exc).__name__ in {'UnknownPlugin', 'NoInstallableVersion'} else 'invalid_request'}"


# ---------------------------------------------------------------------------------------------------- output


def show(r: dict[str, Any]) -> None:
    m = r["machine"]
    print(f"registry benchmark: {r['versions']:,} versions of {r['plugins']:,} plugins; {m['cores']} cores, Python {m['python']}; "
          f"run {r['total_s']:.0f} s (load average at the end {m['load_average_at_end'][0]}); source {r.get('source', '?')}")
    s = r["seed"]
    print(f"seeded through RegistryApplication.save ({PLUGINS_PER_SAVE} plugins a save): {s['events']:,} events in {s['seconds']} s "
          f"({s['events_per_s']:,}/s)")
    rows = []
    st = r["startup"]
    rows.append(("start-up until health answers", f"{st['service_s']} s", f"{st['in_process_rebuild_s']} s", "catalogue rebuild in process", f"{st['ratio']:.2f}x"))
    se = r["search"]
    rows.append(("search p50, RPC", f"{se['rpc']['p50_ms']} ms", f"{se['in_process']['p50_ms']} ms", "same queries in process", f"{se['ratio_p50']:.2f}x"))
    rows.append(("search p99, RPC", f"{se['rpc']['p99_ms']} ms", f"{se['in_process']['p99_ms']} ms", "same queries in process", f"{se['ratio_p99']:.2f}x"))
    rows.append(("search p99, RPC", f"{se['rpc']['p99_ms']} ms", "50 ms", "aim (issue 3)", f"{se['rpc']['p99_ms'] / 50:.2f}x"))
    rows.append(("repeated search (cache hit), RPC p50", f"{se['repeated_query_rpc']['p50_ms']} ms", f"{se['health_rpc']['p50_ms']} ms", "health RPC p50",
                 f"{se['repeated_query_rpc']['p50_ms'] / se['health_rpc']['p50_ms']:.2f}x"))
    rg = r["resolve_graph"]
    rows.append((f"resolve, {rg['n_plugins']:,}-plugin graph, p50 RPC", f"{rg['rpc']['p50_ms']} ms", f"{rg['in_process']['p50_ms']} ms",
                 "same requests in process", f"{rg['ratio_p50']:.2f}x"))
    rows.append((f"resolve, {rg['n_plugins']:,}-plugin graph, p99 RPC", f"{rg['rpc']['p99_ms']} ms", f"{rg['in_process']['p99_ms']} ms",
                 "same requests in process", f"{rg['rpc']['p99_ms'] / rg['in_process']['p99_ms']:.2f}x"))
    rows.append(("resolve, same, p50 in process", f"{rg['in_process']['p50_ms']} ms", f"{rg['resolver_alone']['median_ms']} ms",
                 "resolver on prebuilt versions", f"{rg['in_process_over_resolver_alone_p50']:.2f}x"))
    rr = r["resolve_rpc"]
    if rr["rpc"]:
        rows.append((f"resolve a {rr['plugins_pinned']}-plugin install, RPC", f"{rr['rpc']['p50_ms']} ms", f"{rr['in_process']['p50_ms']} ms",
                     "same resolve in process", f"{rr['ratio_p50']:.2f}x"))
    if rr["search_during_resolve"]:
        rows.append(("search p50 while a resolve runs, RPC", f"{rr['search_during_resolve']['p50_ms']} ms", f"{se['rpc']['p50_ms']} ms",
                     "search p50, RPC, idle", f"{rr['search_during_resolve']['p50_ms'] / se['rpc']['p50_ms']:.0f}x"))
    if rr.get("health_during_resolve"):
        h = rr["health_during_resolve"]
        rows.append(("health RPC while a resolve runs, p50", f"{h['p50_ms']} ms", f"{se['health_rpc']['p50_ms']} ms",
                     "health RPC p50, idle", f"{h['p50_ms'] / se['health_rpc']['p50_ms']:.0f}x"))
    p = r["publish"]
    rows.append(("signed publishes/s (upload + RPC)", f"{p['per_s']}", f"{p['bare_request_reply']['per_s']:,}", "bare NATS request/reply/s", f"{p['ratio']:.1%}"))
    rows.append(("publish RPC p50 (archive uploaded)", f"{p['publish_rpc']['p50_ms']} ms", f"{p['bare_request_reply']['p50_ms']} ms",
                 "bare request/reply p50", f"{p['publish_rpc']['p50_ms'] / p['bare_request_reply']['p50_ms']:.0f}x"))
    width = max(len(row[0]) for row in rows)
    print(f"{'':<{width}}  {'figure':>10}  {'limit':>10}  {'(limit is)':<28}  {'ratio':>7}")
    for what, figure, limit, which, ratio in rows:
        print(f"{what:<{width}}  {figure:>10}  {limit:>10}  {which:<28}  {ratio:>7}")
    print(f"search aim (RPC p99 < 50 ms at {r['versions']:,} versions): {'met' if se['aim_met'] else 'NOT met'}; "
          f"{se['rpc']['n']} distinct queries, answers differing between RPC and in process: {se['answers_differing']}")
    print(f"{'query kind':<38}{'RPC p50':>9}{'p99':>9}{'  in-process p50':>17}{'p99':>9}{'plugins found (median)':>24}")
    for kind, figures in se["rpc_by_kind"].items():
        local = se["in_process_by_kind"][kind]
        print(f"{kind:<38}{figures['p50_ms']:>9}{figures['p99_ms']:>9}{local['p50_ms']:>17}{local['p99_ms']:>9}{se['plugins_found_median_by_kind'][kind]:>24,.0f}")
    print(f"publish: upload to the object store p50 {p['upload']['p50_ms']} ms, publish RPC p50 {p['publish_rpc']['p50_ms']} ms "
          f"p99 {p['publish_rpc']['p99_ms']} ms; first search after a publish p50 {p['search_after_publish']['p50_ms']} ms "
          f"p99 {p['search_after_publish']['p99_ms']} ms; packing and signing {p['count']} took {p['prepare_s']} s (client side, not counted)")
    print(f"search through the RPC, beside index.search: reply built, encoded and decoded (measured in process) p50 "
          f"{se['reply_encode_decode']['p50_ms']} ms p99 {se['reply_encode_decode']['p99_ms']} ms; the health RPC's round trip p50 {se['health_rpc']['p50_ms']} ms")
    print(f"service: RSS {st['service_rss_mib']} MiB after start-up; its full collections by phase: "
          + ("; ".join(f"{k} {v['count']}x, longest {v['max_ms']} ms" for k, v in r["service_full_gc_by_phase"].items()) or "none"))
    rg_gc = st["full_gc_during_in_process_rebuild"]
    print(f"in this process (same catalogue): the rebuild's full collections {rg_gc['count']}x, {rg_gc['total_ms'] / 1000:.1f} s of its "
          f"{st['in_process_rebuild_s']} s (longest {rg_gc['max_ms']} ms); one gc.collect() afterwards {st['full_gc_in_process_ms']} ms, after "
          f"gc.freeze() {st['full_gc_in_process_frozen_ms']} ms; full collections during the in-process searches: {se['gc_gen2_during_in_process_searches']['count']}")
    print(f"resolve graph (bench/registry_resolve.py's build_catalog and pick_requests, seeded into the registry; {rg['n_versions']:,} versions, "
          f"{rg['n_dependency_edges']:,} edges; each request {rg['repeat']}x): "
          + "; ".join(f"{' '.join(o['request'])}: {o['rpc']}" for o in rg["requests"]))
    print("phases: " + ", ".join(f"{k} {v} s" for k, v in r["phases_s"].items()))


def source_state() -> str:
    """The commit measured, and whether the registry's sources differed from it (others work in this checkout)."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "services/registry", "libs", "schemas"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    changed = [line[3:] for line in dirty if line.strip()]
    return head + (f" with uncommitted changes to {', '.join(changed)}" if changed else "")


def main() -> None:
    # resolve() warns about every pending version it pins (all of them here): not what this bench measures
    logging.getLogger("plugyard_registry.resolver").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versions", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=320, help="timed search requests (distinct queries, 8 kinds)")
    parser.add_argument("--publishes", type=int, default=200)
    parser.add_argument("--resolve-repeat", type=int, default=10, help="resolves of each graph request, through the RPC and in process")
    parser.add_argument("--deep-tree", type=int, default=DEEP_TREE, help="plugins pinned by the large-install resolve")
    parser.add_argument("--resolves", type=int, default=1, help="large-install resolves, through the RPC and in process")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    source = source_state()  # before the run: what the service and this process import
    result = asyncio.run(run(args))
    result["source"] = source
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        show(result)


if __name__ == "__main__":
    main()
