"""`plugyard bench` through typer's CliRunner, with the loader's and the registry's RPCs replaced by fixed replies."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from plugyard_cli import output
from plugyard_cli.commands import bench
from plugyard_cli.main import app
from plugyard_cli.output import EXIT_NO, EXIT_UNAVAILABLE, EXIT_USAGE, CliError
from plugyard_schemas.loader import BenchReply, BenchRequest
from plugyard_schemas.registry import InfoReply, VersionInfo


def latencies(median_ms: float, n: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [round(median_ms * rng.lognormvariate(0, 0.1), 3) for _ in range(n)]


def reply_for(request: BenchRequest, slower_by: float = 30.0, failing: str | None = None) -> BenchReply:
    fast = latencies(2.0, request.calls, 1)
    slow = [v + slower_by for v in latencies(2.0, request.calls, 2)]
    lat = {request.version: slow, request.against: fast}
    codes: dict[str, dict[str, int]] = {request.version: {}, request.against: {}}
    if failing:
        lat[failing] = []
        codes[failing] = {"timeout": request.calls}
    return BenchReply(
        host="h1", name=request.name, version=request.version, against=request.against, action=request.action, calls=request.calls,
        latencies_ms=lat, errors={v: sum(c.values()) for v, c in codes.items()}, error_codes=codes,
    )


def version_info(version: str, status: str = "cleared", yanked: bool = False) -> VersionInfo:
    return VersionInfo(
        version=version, status=status, yanked=yanked, cid="bafy", size=1, sha256="0" * 64, manifest_sha256="0" * 64, publisher="0x0",
        signature="0x", published_at=datetime(2025, 1, 1, tzinfo=UTC), summary="", host=">=1", requires=[], dependencies=[],
        permissions={}, manifest={},
    )


INFO = InfoReply(name="demo", owners=["0x0"], versions=[
    version_info("0.0.5"), version_info("0.1.0"), version_info("0.1.1", yanked=True), version_info("0.1.2", status="quarantined"),
    version_info("0.2.0"), version_info("0.3.0"),
])


class FakeBus:
    """Stands in for `bench_call` and `registry_info`: records what was asked, answers as `reply` says."""

    def __init__(self) -> None:
        self.benches: list[tuple[str | None, BenchRequest, float]] = []
        self.infos: list[str] = []
        self.reply = reply_for
        self.info = INFO

    def bench_call(self, host, request, timeout):
        self.benches.append((host, request, timeout))
        answer = self.reply(request)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def registry_info(self, name):
        self.infos.append(name)
        return self.info


@pytest.fixture
def bus(monkeypatch) -> FakeBus:
    fake = FakeBus()
    monkeypatch.setattr(bench, "bench_call", fake.bench_call)
    monkeypatch.setattr(bench, "registry_info", fake.registry_info)
    monkeypatch.setattr(output.console, "width", 200)
    return fake


def run(*args: str):
    return CliRunner().invoke(app, ["bench", *args], catch_exceptions=True)


def test_the_table_and_the_verdict_name_the_slower_version(bus) -> None:
    result = run("demo==0.2.0", "--against", "0.1.0", "--action", "work", "--args", '{"n": 1}', "--calls", "40", "--host", "h1")
    assert result.exit_code == 0, (result.output, result.exception)
    [(host, request, timeout)] = bus.benches
    assert host == "h1" and bus.infos == []
    assert (request.name, request.version, request.against, request.action, request.args, request.calls, request.timeout_s) == (
        "demo", "0.2.0", "0.1.0", "work", {"n": 1}, 40, 30.0)
    assert timeout == 40 * 2 * 30.0 + bench.START_MARGIN_S
    lines = result.stdout.splitlines()
    assert lines[0] == "demo.work on h1: 40 calls per version, alternating; latencies in ms"
    assert lines[1].split() == ["version", "calls", "errors", "median", "p90", "p99", "mean", "(95%", "CI)"]
    assert lines[2].split()[:3] == ["0.2.0", "40", "0"] and lines[3].split()[:4] == ["0.1.0", "(baseline)", "40", "0"]
    assert lines[-1].startswith("0.2.0 is ") and "x slower than 0.1.0 (ratio of medians " in lines[-1] and "95% CI" in lines[-1]


def test_json_holds_the_request_the_stats_the_interval_the_verdict_and_the_raw_reply(bus) -> None:
    result = run("demo==0.2.0", "--against", "0.1.0", "--action", "work", "--calls", "30", "--timeout", "2", "--json")
    assert result.exit_code == 0, (result.output, result.exception)
    document = json.loads(result.stdout)
    assert {k: document[k] for k in ("name", "version", "against", "action", "args", "calls", "timeout_s", "host")} == {
        "name": "demo", "version": "0.2.0", "against": "0.1.0", "action": "work", "args": {}, "calls": 30, "timeout_s": 2.0, "host": "h1"}
    assert set(document["stats"]) == {"0.2.0", "0.1.0"}
    assert document["stats"]["0.2.0"]["median_ms"] > document["stats"]["0.1.0"]["median_ms"] + 25
    assert {"p90_ms", "p99_ms", "mean_ms", "mean_low_ms", "mean_high_ms", "errors", "error_codes"} <= set(document["stats"]["0.1.0"])
    assert document["ci"]["confidence"] == 0.95 and 1 < document["ci"]["low"] < document["ratio"] < document["ci"]["high"]
    assert "slower than 0.1.0" in document["verdict"]
    assert BenchReply.model_validate(document["reply"]) == bus.reply(bus.benches[0][1])


def test_the_table_fits_80_columns(bus, monkeypatch) -> None:
    monkeypatch.setattr(output.console, "width", 80)
    bus.reply = lambda request: reply_for(request, slower_by=3000.0)
    result = run("demo==0.2.0", "--against", "0.1.0", "--action", "work", "--calls", "50")
    assert result.exit_code == 0 and "…" not in result.stdout, result.stdout


def test_no_difference_is_said_so(bus) -> None:
    bus.reply = lambda request: reply_for(request, slower_by=0.0)
    result = run("demo==0.2.0", "--against", "0.1.0", "--action", "work", "--calls", "200")
    assert result.exit_code == 0, (result.output, result.exception)
    assert "no difference detectable: the 95% CI of the ratio " in result.stdout and "contains 1" in result.stdout


def test_the_baseline_defaults_to_the_highest_installable_version_below_not_yanked(bus) -> None:
    result = run("demo==0.2.0", "--action", "work", "--calls", "5")
    assert result.exit_code == 0, (result.output, result.exception)
    assert bus.infos == ["demo"] and bus.benches[0][1].against == "0.1.0"  # 0.1.2 is quarantined, 0.1.1 yanked


def test_without_a_version_below_the_baseline_must_be_named(bus) -> None:
    bus.info = InfoReply(name="demo", owners=[], versions=[version_info("0.2.0"), version_info("0.1.0", yanked=True)])
    result = run("demo==0.2.0", "--action", "work")
    assert isinstance(result.exception, CliError) and result.exception.exit_code == EXIT_NO
    assert "no installable version below 0.2.0" in result.exception.message and "--against" in result.exception.message
    assert bus.benches == []


def test_errors_are_listed_by_code_and_no_successful_call_exits_1(bus) -> None:
    bus.reply = lambda request: reply_for(request, failing=request.version)
    result = run("demo==0.2.0", "--against", "0.1.0", "--action", "work", "--calls", "4")
    assert result.exit_code == EXIT_NO
    assert "0.2.0 errors: timeout 4" in result.stdout
    assert result.stdout.splitlines()[-1] == "cannot compare: no call of 0.2.0 succeeded"
    as_json = run("demo==0.2.0", "--against", "0.1.0", "--action", "work", "--calls", "4", "--json")
    document = json.loads(as_json.stdout)
    assert as_json.exit_code == EXIT_NO and document["ratio"] is None and document["ci"]["low"] is None
    assert document["stats"]["0.2.0"]["error_codes"] == {"timeout": 4}


def test_the_loaders_refusal_is_the_error(bus) -> None:
    bus.reply = lambda request: CliError("demo==0.1.0 is not installed on host h1: plugyard install demo==0.1.0 first", code="invalid_request",
                                         exit_code=EXIT_USAGE)
    result = run("demo==0.2.0", "--against", "0.1.0", "--action", "work")
    assert isinstance(result.exception, CliError) and "plugyard install demo==0.1.0 first" in result.exception.message
    bus.reply = lambda request: CliError("no loader answers on the bus", code="unavailable", exit_code=EXIT_UNAVAILABLE)
    result = run("demo==0.2.0", "--against", "0.1.0", "--action", "work")
    assert isinstance(result.exception, CliError) and result.exception.exit_code == EXIT_UNAVAILABLE


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["demo", "--action", "work"], "is not NAME==VERSION"),
        (["demo==0.2.0", "--action", "work", "--args", "[1, 2]"], "--args must be a JSON object of arguments, not list"),
        (["demo==0.2.0", "--action", "work", "--args", "{nope"], "--args is not JSON"),
        (["demo==0.2.0", "--action", "work", "--calls", "0"], "--calls must be from 1 to 10000"),
        (["demo==0.2.0", "--action", "work", "--calls", "10001"], "--calls must be from 1 to 10000"),
        (["demo==0.2.0", "--action", "work", "--timeout", "0"], "--timeout must be above 0 and at most 300"),
        (["demo==0.2.0", "--action", "work", "--timeout", "301"], "--timeout must be above 0 and at most 300"),
        (["demo==0.2.0", "--action", "work", "--against", "0.2.0"], "--against must name another version than 0.2.0"),
        (["demo==latest", "--action", "work"], "is not a version; name the baseline with --against"),
    ],
)
def test_usage_errors_exit_64_before_anything_is_asked(bus, args, message) -> None:
    result = run(*args)
    assert isinstance(result.exception, CliError), (result.output, result.exception)
    assert result.exception.exit_code == EXIT_USAGE and message in result.exception.message
    assert bus.benches == [] and bus.infos == []


def test_the_limits_are_the_requests() -> None:
    BenchRequest(name="d", version="2", against="1", action="a", calls=bench.MAX_CALLS, timeout_s=bench.MAX_TIMEOUT_S)
    for fields in ({"calls": bench.MAX_CALLS + 1}, {"timeout_s": bench.MAX_TIMEOUT_S + 0.1}):
        with pytest.raises(ValueError):
            BenchRequest(name="d", version="2", against="1", action="a", **fields)


def test_a_missing_action_is_typers_usage_error(bus) -> None:
    result = run("demo==0.2.0")
    assert result.exit_code == 2 and "--action" in result.output
