"""Advice drawn from evidence only: each recommendation names its metric, figures, threshold and window.

Nothing here guesses: a plugin with no calls, samples or crashes in the window gets no advice at all.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from statistics import median

from plugyard_schemas.telemetry import Recommendation, RecommendationsReply
from plugyard_telemetry.alert_metrics import DEFAULT_MEMORY_LIMIT_BYTES
from plugyard_telemetry.alert_rules import Rule
from plugyard_telemetry.application import TelemetryApplication
from plugyard_telemetry.schema import BUCKET_SUMS
from plugyard_telemetry.statistics import percentile
from plugyard_telemetry.warehouse import TelemetryWarehouse

WINDOW = timedelta(hours=1)
WINDOW_TEXT = "the last hour"
DEFAULT_BUDGET_MS = 1000.0
MEMORY_SHARE = 0.8
ERROR_RATE = 0.05
MIN_CALLS = 20
CRASH_SPREAD = 0.1  # workers that died within 10% of the same call count crash "after a fixed number of calls"
TOP_FRAMES = 5


def recommendations(warehouse: TelemetryWarehouse, app: TelemetryApplication, rules: list[Rule], name: str | None, now: datetime | None = None) -> RecommendationsReply:
    now = now or datetime.now(UTC)
    since = now - WINDOW
    found = [
        *_slow_actions(warehouse, rules, name, since),
        *_memory(warehouse, name, since),
        *_errors(warehouse, name, since),
        *_crashes_after_calls(warehouse, name),
        *_regressions(app, warehouse, name),
    ]
    return RecommendationsReply(recommendations=found)


def _name_filter(name: str | None) -> tuple[str, dict]:
    return ("AND name = $name", {"name": name}) if name else ("", {})


def _budget(rules: list[Rule], action: str) -> float:
    for rule in rules:
        if rule.metric == "p99_ms":
            budget = rule.budget_for(action)
            return budget if budget is not None else rule.above
    return DEFAULT_BUDGET_MS


def _slow_actions(warehouse: TelemetryWarehouse, rules: list[Rule], name: str | None, since: datetime) -> list[Recommendation]:
    where, params = _name_filter(name)
    found = []
    for plugin, version, host, action, calls, *buckets in warehouse.read(
        f"SELECT name, version, host, action, sum(calls), {BUCKET_SUMS} FROM action_samples WHERE ts >= $since {where} GROUP BY ALL ORDER BY ALL",
        {"since": since, **params},
    ):
        p99 = percentile([int(b) for b in buckets], 0.99)
        budget = _budget(rules, action)
        if calls < MIN_CALLS or p99 is None or p99 <= budget:
            continue
        stacks = warehouse.read(
            "SELECT stack FROM slow_calls WHERE name = $name AND version = $version AND host = $host AND action = $action AND ts >= $since",
            {"name": plugin, "version": version, "host": host, "action": action, "since": since},
        )
        # The innermost frame is where a slow call was found spending its time; the frames around it say how it got there.
        innermost = Counter(stack[-1] for (stack,) in stacks if stack)
        where_time_went = [f"{frame} ({n} of {len(stacks)} slow calls)" for frame, n in innermost.most_common(TOP_FRAMES)]
        common_stack = Counter(tuple(stack[-TOP_FRAMES:]) for (stack,) in stacks if stack).most_common(1)
        advice = f"{action} of {plugin}=={version} on {host} has a p99 of {p99:.0f} ms over {calls} calls, over its {budget:.0f} ms budget."
        advice += (f" Its slow calls spent their time in {where_time_went[0]}." if where_time_went
                   else " No stack samples of its slow calls are recorded yet.")
        found.append(Recommendation(
            name=plugin, version=version, host=host, kind="slow-action", metric=f"p99_ms[{action}]", value=round(p99, 1),
            threshold=budget, window=WINDOW_TEXT, advice=advice,
            evidence={"calls": int(calls), "where_time_went": where_time_went, "stack": list(common_stack[0][0]) if common_stack else []},
        ))
    return found


def _memory(warehouse: TelemetryWarehouse, name: str | None, since: datetime) -> list[Recommendation]:
    where, params = _name_filter(name)
    found = []
    for plugin, version, host, rss, limit in warehouse.read(
        f"SELECT name, version, host, max(rss_bytes), max(memory_limit_bytes) FROM samples WHERE ts >= $since {where} GROUP BY ALL ORDER BY ALL",
        {"since": since, **params},
    ):
        limit = limit or DEFAULT_MEMORY_LIMIT_BYTES
        share = rss / limit
        if share < MEMORY_SHARE:
            continue
        found.append(Recommendation(
            name=plugin, version=version, host=host, kind="memory-near-limit", metric="rss_fraction", value=round(share, 3),
            threshold=MEMORY_SHARE, window=WINDOW_TEXT,
            advice=f"{plugin}=={version} on {host} reached {rss / 2**20:.0f} MiB, {share:.0%} of its {limit / 2**20:.0f} MiB limit: "
            "the sandbox stops it for memory at the limit. Find what it holds on to (a cache without bound, a growing list).",
            evidence={"rss_bytes_max": int(rss), "memory_limit_bytes": int(limit)},
        ))
    return found


def _errors(warehouse: TelemetryWarehouse, name: str | None, since: datetime) -> list[Recommendation]:
    where, params = _name_filter(name)
    found = []
    for plugin, version, host, calls, errors in warehouse.read(
        f"SELECT name, version, host, sum(calls), sum(errors) FROM action_samples WHERE ts >= $since {where} GROUP BY ALL ORDER BY ALL",
        {"since": since, **params},
    ):
        if calls < MIN_CALLS or errors / calls <= ERROR_RATE:
            continue
        codes = dict(warehouse.read(
            "SELECT code, sum(errors) FROM error_samples WHERE name = $name AND version = $version AND host = $host AND ts >= $since "
            "GROUP BY code ORDER BY 2 DESC", {"name": plugin, "version": version, "host": host, "since": since},
        ))
        top = next(iter(codes), None)
        advice = f"{plugin}=={version} on {host} failed {errors} of {calls} calls ({errors / calls:.1%})."
        if top:
            advice += f" Most were {top} ({int(codes[top])})."
        found.append(Recommendation(
            name=plugin, version=version, host=host, kind="error-rate", metric="error_rate", value=round(errors / calls, 4),
            threshold=ERROR_RATE, window=WINDOW_TEXT, advice=advice, evidence={"errors_by_code": {k: int(v) for k, v in codes.items()}},
        ))
    return found


def _crashes_after_calls(warehouse: TelemetryWarehouse, name: str | None) -> list[Recommendation]:
    """Workers of one version that each died after about the same number of calls: a counter, a cache or a pool
    that runs out, not bad luck."""
    where, params = _name_filter(name)
    found = []
    crashed = warehouse.read(
        f"SELECT name, version, host, count(*) FROM loader_events WHERE type = 'PluginCrashed' {where} GROUP BY ALL HAVING count(*) >= 2",
        params,
    )
    for plugin, version, host, crashes in crashed:
        lifetimes = [
            int(calls) for _pid, calls in warehouse.read(
                """SELECT pid, sum(calls) FROM samples WHERE name = $name AND version = $version AND host = $host
                   AND pid <> (SELECT arg_max(pid, stream_seq) FROM samples WHERE name = $name AND host = $host) GROUP BY pid""",
                {"name": plugin, "version": version, "host": host},
            ) if calls
        ]
        if len(lifetimes) < 2:
            continue
        typical = median(lifetimes)
        spread = (max(lifetimes) - min(lifetimes)) / typical if typical else 1.0
        if spread > CRASH_SPREAD:
            continue
        found.append(Recommendation(
            name=plugin, version=version, host=host, kind="crash-after-calls", metric="calls_before_crash", value=float(typical),
            threshold=CRASH_SPREAD, window="every worker of the version",
            advice=f"{plugin}=={version} on {host} crashed {crashes} times, each worker after about {typical:.0f} calls "
            f"(within {spread:.0%} of each other): something it uses runs out after a fixed number of calls.",
            evidence={"calls_per_worker": lifetimes, "crashes": int(crashes)},
        ))
    return found


def _regressions(app: TelemetryApplication, warehouse: TelemetryWarehouse, name: str | None) -> list[Recommendation]:
    serving = {
        (plugin, host): version
        for plugin, host, version in warehouse.read("SELECT name, host, arg_max(version, last_at) FROM workers GROUP BY ALL")
    }
    found = []
    for verdict in list(app.verdicts.values()):
        data = verdict.data
        if verdict.event != "RegressionDetected" or (name and data["name"] != name):
            continue
        if serving.get((data["name"], data["host"])) != data["version"]:
            continue
        found.append(Recommendation(
            name=data["name"], version=data["version"], host=data["host"], kind="regressed-version", metric=f"latency[{data['action']}]",
            value=data["p99_ms_after"] or 0.0, threshold=data["p99_ms_before"] or 0.0, window=f"since the switch at {verdict.at}",
            advice=f"{data['name']}=={data['version']} is worse than {data['previous_version']} on {data['host']} "
            f"({'; '.join(data.get('reasons', []))}). Roll back with `plugyard reload {data['name']} --version {data['previous_version']}`.",
            evidence={k: data[k] for k in ("calls_before", "calls_after", "p50_ms_before", "p50_ms_after", "latency_p_value", "latency_effect",
                                           "error_rate_before", "error_rate_after")},
        ))
    return found
