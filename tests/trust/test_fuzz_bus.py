"""The trust issue's proof, against a running stack (`plugyard up`, authentication on): 10,000 hostile messages drawn
with hypothesis (`fuzz_messages`) across every subject a service consumes and every RPC it answers.

Events are published as their producer (only the registry may publish `plugyard.evt.registry.>`: a buggy or compromised
producer) and as `client` under a source of its own; requests are sent as `client` (the loader's private
runtime-quarantine as `loader`). Then: no service crashed, restarted or stopped answering; every request was answered;
every message that reached the stream was stored or rejected by the ledger, and rejected by the registry's and the
scanner's consumers where it was bad for them; health reports the rejections; good events and a real publish sent after
the barrage are processed, and a plugin loaded before it still answers.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import random
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import nats
import nats.errors
import pytest

from plugyard_core.bus_identities import read_identity, seed_path
from tests.stack.support import Stack, start_stack
from tests.stack.test_scanner_cli import new_key, wait_for_status
from tests.trust import fuzz_messages as fm

pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.timeout(1800)]

FUZZ_MESSAGES = int(os.environ.get("PLUGYARD_FUZZ_MESSAGES", "10000"))
RPC_TIMEOUT_S = 30.0  # a service that should answer and has not in this long is wedged, not busy
RPC_IN_FLIGHT = 16
ACKS_TIMEOUT_S = 300.0
PROCESSED_TIMEOUT_S = 300.0
REJECTIONS_SETTLE_S = 20.0  # no new rejection published for this long: the relay has caught up
LEDGER_REJECTION = "dev.plugyard.ledger.MessageRejected"
NEAR_EVENT_LIMIT = fm.EVENT_MAX_BYTES - 4096
HEADER_ROOM = 64  # the Nats-Msg-Id header counts towards the stream's limit
LOADED = "fuzz-before"  # installed and loaded before the barrage; invoked during and after it
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Target:
    key: str  # a subject, `{host}` standing for the loader's host
    kind: str  # "event", "sample" (the telemetry stream), "rpc" or "plugin"
    identity: str  # who sends it
    event_type: str | None = None  # events: the type the subject's consumer takes (None: any, the ledger alone consumes it)
    consumer: str | None = None  # events: the service, besides the ledger, that consumes the subject

    def subject(self, host: str) -> str:
        return self.key.replace("{host}", host)


# Every subject a service consumes, published as its producer, and the ledger's everything, published by others too.
EVENT_TARGETS = [
    (Target("plugyard.evt.registry.VersionPublished", "event", "registry", fm.PUBLISHED, "scanner"), 6),
    (Target("plugyard.evt.scanner.ScanCompleted", "event", "scanner", fm.SCANNED, "registry"), 6),
    (Target("plugyard.evt.registry.VersionQuarantined", "event", "registry", fm.QUARANTINED, "loader"), 5),
    (Target("plugyard.evt.fuzz.Probe", "event", "client"), 4),
    (Target("plugyard.evt.loader.PluginFailed", "event", "loader"), 1),
    (Target("plugyard.evt.loader.PluginInstalled", "event", "loader", fm.INSTALLED, "marketplace"), 3),
    # Telemetry samples, published as the loader (the only identity allowed to): no fuzzed body is a sample.
    (Target(f"plugyard.tel.{{host}}.{LOADED}", "sample", "loader"), 3),
]
STREAMED = ("event", "sample")


def rpc_targets() -> list[tuple[Target, int]]:
    """Every RPC in the checked-in AsyncAPI document (kept current by a test), and plugin invocations."""
    channels = json.loads((REPO / "schemas" / "asyncapi.json").read_text())["channels"].values()
    subjects = sorted(c["address"] for c in channels if c["address"].startswith("plugyard.rpc."))
    targets = [(Target(s, "rpc", "loader" if s.endswith(".runtime-quarantine") else "client"), 1) for s in subjects]
    return [
        *targets,
        (Target(f"plugyard.rpc.plugin.{LOADED}.hello", "plugin", "client"), 3),
        (Target(f"plugyard.rpc.plugin.{LOADED}.no_such_action", "plugin", "client"), 1),
        (Target(f"plugyard.rpc.plugin.{LOADED}.\u00e9t\u00e9-_~!", "plugin", "client"), 1),
        (Target("plugyard.rpc.plugin.nope-not-loaded.hello", "plugin", "client"), 1),
    ]


TIMEOUT_HEADERS = [None, None, None, "5", "abc", "-1", "0", "nan", "inf", "1e9", "601", "0.5", "", " 5 ", "\u0665"]
SCHEDULE_SEED = 10  # the number: the mix of subjects and families is the same on every run
EVENT_SHARE = 0.6


@dataclass(frozen=True)
class Case:
    target: Target
    body: fm.Body
    timeout_header: str | None


def fuzz_cases(count: int) -> list[Case]:
    """`count` cases: a fixed schedule says which subject gets which family of body (so that every subject gets its
    share of every family, about 6 in 10 messages being events), and hypothesis draws the bodies of each family."""
    rng = random.Random(SCHEDULE_SEED)
    events, rpcs = EVENT_TARGETS, rpc_targets()
    families, family_weights = list(fm.WEIGHTS), list(fm.WEIGHTS.values())
    slots = []
    for _ in range(count):
        pool = events if rng.random() < EVENT_SHARE else rpcs
        target = rng.choices([t for t, _ in pool], [w for _, w in pool])[0]
        slots.append((target, rng.choices(families, family_weights)[0], rng.choice(TIMEOUT_HEADERS) if target.kind == "plugin" else None))
    groups: dict[tuple, list[int]] = collections.defaultdict(list)
    for index, (target, family, _) in enumerate(slots):
        limit = fm.EVENT_MAX_BYTES if target.kind in STREAMED else fm.RPC_MAX_BYTES
        groups[family, target.event_type if target.kind == "event" else None, limit].append(index)
    bodies: dict[int, fm.Body] = {}
    for (family, event_type, limit), indices in groups.items():
        drawn = fm.draw_examples(fm.family_bodies(family, event_type, limit), len(indices))
        assert drawn, f"hypothesis drew no {family} bodies"
        bodies.update({index: drawn[n % len(drawn)] for n, index in enumerate(indices)})
    return [Case(target, bodies[index], header) for index, (target, _, header) in enumerate(slots)]


@dataclass
class Outcome:
    index: int
    case: Case
    subject: str
    size: int
    stream_seq: int | None = None
    error: str | None = None  # a publish the stream refused, or a request that got no reply
    reply: Any = None

    @property
    def error_code(self) -> str | None:
        if isinstance(self.reply, dict) and isinstance(self.reply.get("error"), dict):
            return str(self.reply["error"].get("code"))
        return None


@dataclass
class Barrage:
    stack: Stack
    host: str
    outcomes: list[Outcome]
    status_before: dict
    seconds: float
    folder: Path
    key: str


# ---- the stack, a plugin loaded in it, and the barrage

class Generated(threading.Thread):
    """Drawing 10,000 cases takes a while; it runs while the stack starts."""

    def __init__(self, count: int) -> None:
        super().__init__(daemon=True)
        self.count = count
        self.cases: list[Case] = []
        self.error: BaseException | None = None
        self.seconds = 0.0

    def run(self) -> None:
        started = time.monotonic()
        try:
            self.cases = fuzz_cases(self.count)
        except BaseException as exc:  # re-raised in the test's thread
            self.error = exc
        self.seconds = time.monotonic() - started


async def connect(stack: Stack, identity: str) -> nats.NATS:
    seed = seed_path(identity, stack.data_dir)
    options = {"inbox_prefix": read_identity(seed, identity).inbox_prefix} if identity != "client" else {}

    async def quiet(_error: Exception) -> None:
        pass

    return await nats.connect(stack.url, nkeys_seed=str(seed), error_cb=quiet, allow_reconnect=False, **options)


async def send_all(stack: Stack, host: str, cases: list[Case]) -> list[Outcome]:
    identities = sorted({c.target.identity for c in cases})
    connections = {identity: await connect(stack, identity) for identity in identities}
    jetstreams = {identity: nc.jetstream() for identity, nc in connections.items()}
    in_flight = asyncio.Semaphore(RPC_IN_FLIGHT)
    outcomes: list[Outcome] = []
    acks: list[tuple[Outcome, asyncio.Future]] = []
    requests: list[tuple[Outcome, asyncio.Task]] = []

    async def request(outcome: Outcome, payload: bytes, headers: dict[str, str] | None) -> None:
        try:
            msg = await connections[outcome.case.target.identity].request(outcome.subject, payload, timeout=RPC_TIMEOUT_S, headers=headers)
        except nats.errors.NoRespondersError:
            outcome.error = "no responders"
        except nats.errors.TimeoutError:
            outcome.error = f"no reply in {RPC_TIMEOUT_S:g} s"
        except Exception as exc:
            outcome.error = f"request failed: {exc!r}"
        else:
            try:
                outcome.reply = json.loads(msg.data)
            except ValueError as exc:
                outcome.reply = f"a reply that is not JSON ({exc}): {msg.data[:200]!r}"
        finally:
            in_flight.release()

    try:
        for index, case in enumerate(cases):
            payload = case.body.build(fm.message_id(index))
            outcome = Outcome(index, case, case.target.subject(host), len(payload))
            outcomes.append(outcome)
            if case.target.kind in STREAMED and len(payload) > NEAR_EVENT_LIMIT:
                # The server answers an oversized message with a 400 status: publish raises BadRequestError, while
                # publish_async (nats-py) would leave its future unresolved.
                acks.append((outcome, asyncio.ensure_future(jetstreams[case.target.identity].publish(
                    outcome.subject, payload, headers={"Nats-Msg-Id": fm.message_id(index)}, timeout=RPC_TIMEOUT_S
                ))))
            elif case.target.kind in STREAMED:
                future = await jetstreams[case.target.identity].publish_async(
                    outcome.subject, payload, headers={"Nats-Msg-Id": fm.message_id(index)}
                )
                acks.append((outcome, future))
            else:
                await in_flight.acquire()  # requests in flight pace the loop, so events and requests interleave
                headers = {"Plugyard-Timeout": case.timeout_header} if case.timeout_header is not None else None
                requests.append((outcome, asyncio.create_task(request(outcome, payload, headers))))
        if acks or requests:
            await asyncio.wait([f for _, f in acks + requests], timeout=ACKS_TIMEOUT_S)
        for outcome, future in acks:
            if not future.done():
                outcome.error = f"no publish ack in {ACKS_TIMEOUT_S:g} s"
            elif future.exception() is not None:
                outcome.error = f"refused by the stream: {future.exception()!r}"
            else:
                outcome.stream_seq = future.result().seq
        for outcome, task in requests:
            if not task.done():
                outcome.error = f"no outcome in {ACKS_TIMEOUT_S:g} s"
                task.cancel()
    finally:
        for nc in connections.values():
            await nc.close()
    return outcomes


def service_states(status: dict) -> dict[str, dict]:
    return {s["name"]: s for s in status["services"]}


def status_json(stack: Stack) -> tuple[int, dict]:
    done = stack.cli("status", "--json")
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {}


def log_tail(stack: Stack, service: str, lines: int = 40) -> str:
    path = stack.data_dir / "logs" / f"{service}.log"
    if not path.exists():
        return f"(no {path})"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="module")
def barrage(tmp_path_factory) -> Iterator[Barrage]:
    generated = Generated(FUZZ_MESSAGES)
    generated.start()
    stack = start_stack(tmp_path_factory.mktemp("fuzz-stack"))
    try:
        folder = tmp_path_factory.mktemp("fuzz-plugins")
        key = str(folder / "alice.key")
        new_key(key)
        stack.cli_json("init", str(folder / "before"), "--name", LOADED)
        stack.cli_json("publish", str(folder / "before"), "--key", key)
        wait_for_status(stack, LOADED, "cleared")
        stack.cli_json("install", LOADED)
        assert stack.cli_json("load", LOADED)["state"] == "running"
        host = stack.cli_json("ps")["host"]
        code, before = status_json(stack)
        assert code == 0, before

        generated.join()
        if generated.error:
            raise generated.error
        assert len(generated.cases) == FUZZ_MESSAGES, f"hypothesis drew {len(generated.cases)} cases, not {FUZZ_MESSAGES}"
        started = time.monotonic()
        outcomes = asyncio.run(send_all(stack, host, generated.cases))
        seconds = time.monotonic() - started
        summary = collections.Counter((o.case.target.kind, o.case.body.family) for o in outcomes)
        print(f"\nfuzz: drew {len(outcomes)} cases in {generated.seconds:.1f} s, sent them in {seconds:.1f} s")
        for (kind, family), count in sorted(summary.items()):
            print(f"  {kind:6} {family:32} {count}")
        answers = collections.Counter(
            (o.case.target.kind, "stream" if o.stream_seq else o.error or f"reply {o.error_code or 'ok'}") for o in outcomes
        )
        print("outcomes: " + ", ".join(f"{kind} {what}: {count}" for (kind, what), count in sorted(answers.items())))
        yield Barrage(stack, host, outcomes, before, seconds, folder, key)
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def drained(barrage: Barrage) -> float:
    """A good event from `client` after the barrage, waited for in the ledger: it processes in order, so every message
    before it has been processed too. Returns how long it took."""
    started = time.monotonic()
    event_id = str(uuid.uuid4())
    event = {
        "specversion": "1.0", "id": event_id, "source": "fuzz/after", "type": "dev.fuzz.Good", "subject": "after-the-barrage",
        "time": datetime.now(timezone.utc).isoformat(), "datacontenttype": "application/json", "data": {"ok": True},
    }

    async def publish() -> None:
        nc = await connect(barrage.stack, "client")
        try:
            await nc.jetstream().publish("plugyard.evt.fuzz.Good", json.dumps(event).encode(), headers={"Nats-Msg-Id": event_id})
        finally:
            await nc.close()

    asyncio.run(publish())
    barrage.stack.wait_for(f"SELECT count(*) FROM events WHERE source = 'fuzz/after' AND id = '{event_id}'", 1, timeout=PROCESSED_TIMEOUT_S)
    return time.monotonic() - started


def rows(stack: Stack, statement: str) -> list[list]:
    reply = stack.cli_json("audit", "sql", statement, "--max-rows", "1000000")
    assert not reply.get("truncated"), statement
    return reply["rows"]


def rejected_seqs(stack: Stack, service: str) -> dict[int, str]:
    """Stream sequence -> reason of every MessageRejected `service` published (its consumer's rejections)."""
    found = rows(stack, f"SELECT data->>'stream_seq', data->>'reason' FROM events WHERE type = 'dev.plugyard.{service}.MessageRejected'")
    return {int(seq): reason for seq, reason in found if seq is not None}


def excerpt(body: bytes) -> str:
    return repr(body) if len(body) <= 240 else f"{body[:100]!r} ... {body[-140:]!r}"


def examples(outcomes: list[Outcome], limit: int = 8) -> str:
    by_family = collections.Counter(o.case.body.family for o in outcomes)
    shown = "\n".join(
        f"  #{o.index} {o.subject} {o.case.body.family} ({o.size} bytes, seq {o.stream_seq}): {excerpt(o.case.body.build(fm.message_id(o.index)))}"
        for o in outcomes[:limit]
    )
    return f"{len(outcomes)} messages, by family {dict(by_family)}:\n{shown}"


def wait_until_rejected(stack: Stack, service: str, expected: list[Outcome]) -> dict[int, str]:
    """The rejections `service` recorded, once all of `expected` are among them, or none has come for a while (its
    relay has published what its consumer recorded), or the time is up."""
    deadline = time.monotonic() + PROCESSED_TIMEOUT_S
    found: dict[int, str] = {}
    last_change = time.monotonic()
    while True:
        now_found = rejected_seqs(stack, service)
        if len(now_found) != len(found):
            found, last_change = now_found, time.monotonic()
        if all(o.stream_seq in found for o in expected) or time.monotonic() > min(deadline, last_change + REJECTIONS_SETTLE_S):
            return found
        time.sleep(1.0)


def rejected_count(details: Any) -> int:
    """The sum of every count under a key that names rejections, at any depth of a health reply's details."""
    if isinstance(details, dict):
        return sum(
            value if "rejected" in key and isinstance(value, int) and not isinstance(value, bool) else rejected_count(value)
            for key, value in details.items()
        )
    if isinstance(details, list):
        return sum(rejected_count(item) for item in details)
    return 0


def events_of(barrage: Barrage, consumer: str | None = None) -> list[Outcome]:
    return [o for o in barrage.outcomes if o.case.target.kind == "event" and (consumer is None or o.case.target.consumer == consumer)]


# ---- the proof

def test_every_event_reached_the_stream_unless_over_its_size_limit(barrage: Barrage) -> None:
    events = events_of(barrage)
    refused = [o for o in events if o.error and o.size <= fm.EVENT_MAX_BYTES - HEADER_ROOM]
    assert not refused, f"publishes refused that the stream should take: {[(o.index, o.size, o.error) for o in refused[:10]]}"
    oversized = [o for o in events if o.size > fm.EVENT_MAX_BYTES and o.stream_seq]
    assert not oversized, f"events over 1 MiB in the stream: {[(o.index, o.size, o.stream_seq) for o in oversized[:10]]}"
    assert all(o.stream_seq or o.error for o in events)


def test_every_request_is_answered_and_every_bad_one_refused(barrage: Barrage) -> None:
    requests = [o for o in barrage.outcomes if o.case.target.kind not in STREAMED]
    assert {o.case.target.key for o in requests} >= {t.key for t, _ in rpc_targets()} or len(requests) < 200
    unanswered = [o for o in requests if o.error and not (o.error == "no responders" and "nope-not-loaded" in o.subject)]
    assert not unanswered, "requests without a reply:\n" + "\n".join(
        f"  #{o.index} {o.subject} {o.case.body.family} ({o.size} bytes): {o.error}" for o in unanswered[:20]
    ) + f"\n({len(unanswered)} in all)"
    not_json = [o for o in requests if not o.error and not isinstance(o.reply, dict)]
    assert not not_json, [(o.index, o.subject, o.reply) for o in not_json[:10]]
    must_refuse = [
        o for o in requests
        if not o.error and o.case.body.json in (fm.Json.INVALID, fm.Json.DEEP, fm.Json.NON_OBJECT)
        and o.case.body.build(fm.message_id(o.index)).strip()  # an empty body is a plugin's empty arguments
    ]
    accepted = [o for o in must_refuse if o.error_code is None]
    assert not accepted, "requests that are not a JSON object, answered as if they were:\n" + examples(accepted)
    codes = collections.Counter(o.error_code for o in requests)
    assert codes["internal"] == 0, "internal errors:\n" + examples([o for o in requests if o.error_code == "internal"])


def test_good_work_goes_on_after_the_barrage(barrage: Barrage, drained: float) -> None:
    stack = barrage.stack
    stack.cli_json("init", str(barrage.folder / "after"), "--name", "fuzz-after")
    stack.cli_json("publish", str(barrage.folder / "after"), "--key", barrage.key)
    wait_for_status(stack, "fuzz-after", "cleared", timeout=PROCESSED_TIMEOUT_S)  # the scanner's and registry's consumers moved on
    reply = stack.cli_json("invoke", LOADED, "hello", "--args", '{"name": "after"}')
    assert "after" in json.dumps(reply["result"])
    assert [p["name"] for p in stack.cli_json("resolve", "fuzz-after")["install_order"]] == ["fuzz-after"]
    stack.wait_for("SELECT count(*) FROM events WHERE type = 'dev.plugyard.registry.VersionCleared' AND subject = 'fuzz-after==0.1.0'", 1)


def test_the_ledger_stored_or_rejected_each_message(barrage: Barrage, drained: float) -> None:
    sent = [o for o in events_of(barrage) if o.stream_seq]
    low, high = min(o.stream_seq for o in sent), max(o.stream_seq for o in sent)
    stored = {seq: (type_, id_) for seq, type_, id_ in rows(barrage.stack, f"SELECT stream_seq, type, id FROM events WHERE stream_seq BETWEEN {low} AND {high}")}
    missing = [o for o in sent if o.stream_seq not in stored]
    assert not missing, "messages the ledger neither stored nor rejected:\n" + examples(missing)
    kept = [o for o in sent if (o.case.body.must_be_rejected or o.size > fm.EVENT_MAX_BYTES) and stored[o.stream_seq][0] != LEDGER_REJECTION]
    assert not kept, "bad messages stored as events:\n" + examples(kept)
    lost = [
        o for o in sent
        if o.case.body.is_clean_cloudevent and o.size <= fm.EVENT_MAX_BYTES
        and stored[o.stream_seq] != (o.case.body.event_type, fm.message_id(o.index))
    ]
    assert not lost, "good CloudEvents not stored as sent:\n" + examples(lost) + "\nstored as: " + str([stored[o.stream_seq] for o in lost[:8]])


@pytest.mark.parametrize("service", ["scanner", "loader", "marketplace"])
def test_each_bad_event_is_rejected_by_its_consumer(barrage: Barrage, drained: float, service: str) -> None:
    """What is not a CloudEvent of the type the consumer takes with data its model takes is rejected and recorded (the
    rest, valid-shaped events about versions that do not exist, may be processed)."""
    sent = [o for o in events_of(barrage, service) if o.stream_seq]
    expected_type = sent[0].case.target.event_type if sent else None
    bad = [o for o in sent if o.case.body.must_be_rejected or o.case.body.event_type != expected_type or o.case.body.data_fits is False]
    found = wait_until_rejected(barrage.stack, service, bad)
    missed = [o for o in bad if o.stream_seq not in found]
    assert not missed, f"bad events on {sent[0].subject} that the {service} did not reject:\n" + examples(missed) + "\n" + log_tail(barrage.stack, service)


def test_the_telemetry_service_rejected_each_sample(barrage: Barrage, drained: float) -> None:
    """None of the fuzzed bodies is a telemetry sample: each one in the stream is rejected and recorded, none stored."""
    sent = [o for o in barrage.outcomes if o.case.target.kind == "sample" and o.stream_seq]
    assert sent or len(barrage.outcomes) < 100
    deadline = time.monotonic() + PROCESSED_TIMEOUT_S
    while True:
        reply = barrage.stack.cli_json("telemetry", "sql", "SELECT stream_seq FROM rejections WHERE consumer = 'telemetry-samples'",
                                       "--max-rows", "1000000")
        found = {row[0] for row in reply["rows"]}
        missed = [o for o in sent if o.stream_seq not in found]
        if not missed or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    assert not missed, "samples the telemetry service did not reject:\n" + examples(missed) + "\n" + log_tail(barrage.stack, "telemetry")
    seqs = ", ".join(str(o.stream_seq) for o in sent) or "0"
    stored = barrage.stack.cli_json("telemetry", "sql", f"SELECT count(*) FROM samples WHERE stream_seq IN ({seqs})")["rows"]
    assert stored == [[0]], "fuzzed bodies stored as samples"


def test_the_registry_rejected_each_scan(barrage: Barrage, drained: float) -> None:
    """None of the fuzzed ScanCompleted events is about a stored version, so the registry must reject them all."""
    sent = [o for o in events_of(barrage, "registry") if o.stream_seq]
    found = wait_until_rejected(barrage.stack, "registry", sent)
    missed = [o for o in sent if o.stream_seq not in found]
    assert not missed, "ScanCompleted events the registry did not reject:\n" + examples(missed) + "\n" + log_tail(barrage.stack, "registry")


def test_no_service_crashed_restarted_or_stopped_answering(barrage: Barrage, drained: float) -> None:
    code, after = status_json(barrage.stack)
    before_pids = {name: s["details"].get("pid") for name, s in service_states(barrage.status_before).items()}
    after_states = service_states(after) if after else {}
    after_pids = {name: s.get("details", {}).get("pid") for name, s in after_states.items()}
    restarted = {name for name in before_pids if after_pids.get(name) != before_pids[name]}
    assert code == 0 and not restarted, (
        f"plugyard status exited {code}; pids before {before_pids}, after {after_pids}\n"
        + "\n".join(f"--- {name}.log\n{log_tail(barrage.stack, name)}" for name in sorted(restarted or before_pids))
    )
    assert "exited with code" not in barrage.stack.output(), barrage.stack.output()
    waiting = {
        f"{name}/{durable}": consumer for name, state in after_states.items() for durable, consumer in (state.get("consumers") or {}).items()
        if consumer.get("pending") or consumer.get("error")
    }
    assert not waiting, f"consumers still holding messages or failing after the barrage: {waiting}"


@pytest.mark.parametrize("service", ["ledger", "registry", "scanner", "loader", "telemetry", "marketplace"])
def test_health_reports_the_rejections(barrage: Barrage, drained: float, service: str) -> None:
    """Each service consumed bad messages (the loader: VersionQuarantined events it cannot read), so each says so."""
    _, status = status_json(barrage.stack)
    state = service_states(status)[service]
    assert rejected_count(state) > 0, f"{service}'s health does not report the messages it rejected: {state}\n{log_tail(barrage.stack, service)}"
