"""Fixed telemetry replies, built the way the telemetry service answers, for the CLI tests (no server)."""

from __future__ import annotations

from plugyard_schemas.ledger import SqlReply
from plugyard_schemas.telemetry import (
    AlertsReply,
    AlertView,
    Recommendation,
    RecommendationsReply,
    ShowGroup,
    ShowReply,
    TopReply,
    TopRow,
    VersionMark,
)

MIB = 1024 * 1024


def top_reply(calls_per_s: float = 10.0) -> TopReply:
    return TopReply(
        at="2025-01-02T03:04:05+00:00",
        window_s=60.0,
        rows=[
            TopRow(host="h1", name="textkit", version="1.2.0", state="running", calls=600, calls_per_s=calls_per_s, error_rate=0.0125,
                   p50_ms=3.5, p99_ms=120.0, cpu_percent=12.3, rss_bytes=50 * MIB, restarts=1, last_sample_at="2025-01-02T03:04:00+00:00"),
            TopRow(host="h2", name="imgkit", version="0.1.0", state="crashed", calls=0, calls_per_s=0.0, restarts=3),
        ],
    )


TIMES = [f"2025-01-02T02:{minute:02d}:00+00:00" for minute in range(0, 60, 12)]


def show_reply() -> ShowReply:
    return ShowReply(
        name="textkit",
        version=None,
        since="2025-01-02T02:00:00+00:00",
        until="2025-01-02T03:00:00+00:00",
        step_s=720.0,
        times=TIMES,
        resolution="minute",
        groups=[
            ShowGroup(
                key={"version": "1.2.0"}, calls=1234, errors=12, error_rate=12 / 1234,
                errors_by_code={"timeout": 8, "bad_args": 3, "oops": 1},
                p50_ms=3.5, p90_ms=40.0, p99_ms=250.0, cpu_percent_avg=5.5, rss_bytes_max=70 * MIB, net_bytes=4096,
                series={
                    "calls": [10, 20, None, 40, 50],
                    "errors": [0, 1, 0, 2, 9],
                    "p50_ms": [3.0, 3.0, None, 4.0, 5.0],
                    "p99_ms": [100.0, 200.0, None, 250.0, 240.0],
                    "cpu_percent": [1.0, 2.0, 3.0, 4.0, 5.0],
                    "rss_bytes": [60 * MIB, 62 * MIB, None, 70 * MIB, 65 * MIB],
                },
                startup_ms_avg=310.0,
            ),
            ShowGroup(key={"version": "1.3.0"}, calls=5, errors=0, error_rate=0.0, series={"calls": [0, 0, 0, 0, 5], "p50_ms": [None, None, None, None, 7.5]}),
        ],
        marks=[
            VersionMark(at="2025-01-02T02:30:00+00:00", host="h1", version="1.3.0", event="reload"),
            VersionMark(at="2025-01-02T02:40:00+00:00", host="h1", version="1.3.0", event="crash"),
        ],
    )


def alerts_reply() -> AlertsReply:
    return AlertsReply(alerts=[
        AlertView(alert_id="a1", rule="error-rate", name="textkit", host="h1", version="1.2.0", state="open", metric="error_rate",
                  value=0.12, threshold=0.05, message="errors above 5% for 5 minutes", raised_at="2025-01-02T03:00:00+00:00"),
        AlertView(alert_id="a2", rule="p99", name="imgkit", host="h2", state="resolved", metric="p99_ms", value=2500.0, threshold=1000.0,
                  message="p99 [slow] above 1 s", raised_at="2025-01-02T01:00:00+00:00", resolved_at="2025-01-02T01:30:00+00:00"),
    ])


def recommendations_reply() -> RecommendationsReply:
    return RecommendationsReply(recommendations=[
        Recommendation(name="textkit", version="1.2.0", host="h1", kind="slow-action", metric="p99_ms", value=2500.0, threshold=1000.0,
                       window="1h", advice="Cache the parsed model between calls.",
                       evidence={"action": "upper", "stacks": ["File \"a.py\", line 1, in f\n  parse()", "File \"b.py\", line 9, in g"]}),
        Recommendation(name="imgkit", kind="memory", metric="rss_bytes", value=900.0 * MIB, threshold=512.0 * MIB, window="24h",
                       advice="Raise the memory limit or stream the image."),
    ])


def sql_reply() -> SqlReply:
    return SqlReply(columns=["name", "calls"], rows=[["textkit", 3], ["imgkit", None]], truncated=True)
