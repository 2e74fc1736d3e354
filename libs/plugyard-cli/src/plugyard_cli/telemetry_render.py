"""Pure rendering for the telemetry commands: sparklines, human units, `--since` durations, NAME==VERSION, and the
rich tables built from the telemetry service's replies. Nothing here talks to the bus, so all of it is testable
without a stack.

Names, error codes, messages and advice come from plugins and services: they go into tables as `Text`, never as
rich markup, so a `[` in them is printed as it is.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from plugyard_schemas.telemetry import (
    SINCE_MAX_S,
    AlertsReply,
    Recommendation,
    RecommendationsReply,
    ShowGroup,
    ShowReply,
    TopReply,
)

SPARK_CHARS = "▁▂▃▄▅▆▇█"
DASH = "-"

# --- small formatters ------------------------------------------------------------------------------------------


def sparkline(values: Sequence[float | None]) -> str:
    """One character per value, ▁ (the series' minimum) to █ (its maximum); None (no data) is a space.

    A flat series is drawn at the bottom when it is all zero and in the middle otherwise, so that a steady load
    does not look like no load.
    """
    present = [v for v in values if _is_number(v)]
    if not present:
        return " " * len(values)
    low, high = min(present), max(present)
    top = len(SPARK_CHARS) - 1
    chars = []
    for value in values:
        if not _is_number(value):
            chars.append(" ")
        elif high == low:
            chars.append(SPARK_CHARS[0] if high == 0 else SPARK_CHARS[top // 2])
        else:
            chars.append(SPARK_CHARS[int((value - low) / (high - low) * top + 0.5)])  # halves up, always
    return "".join(chars)


def series_range(values: Sequence[float | None], fmt: Callable[[float | None], str]) -> str:
    """The min–max label beside a sparkline ('-' when the series has no data)."""
    present = [v for v in values if _is_number(v)]
    if not present:
        return DASH
    return f"{fmt(min(present))}–{fmt(max(present))}"


def human_bytes(value: float | None) -> str:
    """1536 -> '1.5 KiB'; None -> '-'."""
    if not _is_number(value):
        return DASH
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def number(value: float | None) -> str:
    """A measurement with as many decimals as its size needs: 0.37, 12.5, 1234; None -> '-'."""
    if not _is_number(value):
        return DASH
    if abs(value) < 1:
        return f"{value:.2f}"
    if abs(value) < 100:
        return f"{value:.1f}"
    return f"{value:,.0f}"


def percent(value: float | None) -> str:
    """A percentage that is already in percent (cpu): 3.2 -> '3.2%'."""
    return DASH if not _is_number(value) else f"{value:.1f}%"


def rate_percent(rate: float | None) -> str:
    """A fraction as a percentage (error rate): 0.0123 -> '1.23%'."""
    if not _is_number(rate):
        return DASH
    return f"{rate * 100:.2f}%" if rate < 0.1 else f"{rate * 100:.1f}%"


def count(value: float | None) -> str:
    return DASH if not _is_number(value) else f"{value:,.0f}"


def timestamp(text: str | None) -> str:
    """An ISO time as 'YYYY-MM-DD HH:MM:SS' in UTC (a 'Z' says so); anything unparseable is shown as it came."""
    if not text:
        return DASH
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# --- arguments -------------------------------------------------------------------------------------------------

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}


class ArgumentProblem(ValueError):
    """A command-line value that cannot be used; the message names the value and says what would do."""


def parse_duration(text: str, *, option: str = "--since", maximum_s: float = SINCE_MAX_S) -> float:
    """'30s', '15m', '1h', '7d', '4w' (a number, decimals allowed, and one unit) -> seconds."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not match:
        raise ArgumentProblem(f"{option} {text!r} is not a duration: use a number and a unit s, m, h, d or w (30s, 15m, 1h, 7d, 4w)")
    seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
    if seconds <= 0:
        raise ArgumentProblem(f"{option} {text!r} must be longer than 0")
    if seconds > maximum_s:
        raise ArgumentProblem(f"{option} {text!r} is longer than the {maximum_s / 86400:g} days kept")
    return seconds


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def parse_name_version(text: str) -> tuple[str, str | None]:
    """'textkit' -> ('textkit', None); 'textkit==1.2.0' -> ('textkit', '1.2.0')."""
    name, sep, version = text.strip().partition("==")
    name, version = name.strip(), version.strip()
    if not _NAME.fullmatch(name) or (sep and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.+!_-]*", version)):
        raise ArgumentProblem(f"{text!r} is not a plugin: give NAME or NAME==VERSION (e.g. textkit or textkit==1.2.0)")
    return name, (version if sep else None)


# --- top -------------------------------------------------------------------------------------------------------

TOP_COLUMNS = ("host", "plugin", "version", "state", "calls/s", "error %", "p50 ms", "p99 ms", "cpu %", "rss", "restarts")
_STATE_STYLE = {"running": "green", "crashed": "bold red", "failed": "bold red", "unloaded": "dim"}


def top_table(reply: TopReply) -> Table:
    """The `plugyard top` table, a row per plugin and host."""
    title = f"plugyard top · {timestamp(reply.at)} · window {reply.window_s:g}s · {len(reply.rows)} plugins"
    table = Table(title=title, title_justify="left", header_style="bold", box=None, pad_edge=False, collapse_padding=True)
    for column in TOP_COLUMNS:
        numeric = column not in ("host", "plugin", "version", "state")
        table.add_column(column, justify="right" if numeric else "left", no_wrap=True)
    for row in reply.rows:
        table.add_row(
            Text(row.host), Text(row.name), Text(row.version), Text(row.state, style=_STATE_STYLE.get(row.state, "")),
            number(row.calls_per_s), rate_percent(row.error_rate), number(row.p50_ms), number(row.p99_ms),
            percent(row.cpu_percent), human_bytes(row.rss_bytes), str(row.restarts),
        )
    return table


def top_view(reply: TopReply, *, problem: str | None = None) -> Group:
    """What `plugyard top` shows: the table, a line when nothing runs, and in red why the last refresh failed."""
    parts: list[RenderableType] = [top_table(reply)]
    if not reply.rows:
        parts.append(Text("no plugins are running"))
    if problem:
        parts.append(Text(problem, style="red"))
    return Group(*parts)


# --- telemetry show --------------------------------------------------------------------------------------------


def group_label(key: dict[str, str], default: str = "all") -> str:
    """{'action': 'upper'} -> 'action=upper'; {} -> `default`."""
    return ", ".join(f"{k}={v}" for k, v in key.items()) or default


def top_error_codes(errors_by_code: dict[str, int], limit: int = 3) -> str:
    ranked = sorted(errors_by_code.items(), key=lambda item: (-item[1], item[0]))
    shown = ", ".join(f"{code} ×{n}" for code, n in ranked[:limit])
    return shown + (f", +{len(ranked) - limit} more" if len(ranked) > limit else "")


# The workers' start-up time: a mean since the telemetry service was written (first drafted as a median).
STARTUP_LABEL = "startup avg ms"

# (series name, row label, formatter of its min–max) in the order shown; other series follow in their own order.
SERIES = (
    ("calls", "calls", count),
    ("errors", "errors", count),
    ("p50_ms", "p50 ms", number),
    ("p99_ms", "p99 ms", number),
    ("cpu_percent", "cpu %", percent),
    ("rss_bytes", "rss", human_bytes),
)


def show_header(reply: ShowReply) -> Text:
    which = f"{reply.name}=={reply.version}" if reply.version else f"{reply.name} (all versions)"
    return Text(
        f"{which} · {timestamp(reply.since)} → {timestamp(reply.until)} · "
        f"{len(reply.times)} points of {reply.step_s:g}s ({reply.resolution} data)"
    )


def group_table(group: ShowGroup, *, title: str) -> Table:
    """One group's figures, each beside the sparkline of its series (when there is one) and its min–max."""
    table = Table(title=title, title_justify="left", title_style="bold", header_style="bold", box=None, pad_edge=False)
    table.add_column("metric", no_wrap=True)
    table.add_column("value", justify="right")
    table.add_column("trend", no_wrap=True)
    table.add_column("min–max", no_wrap=True)
    series = dict(group.series)

    def row(label: str, value: str | Text, name: str | None = None, fmt: Callable[[float | None], str] = number) -> None:
        values = series.pop(name, None) if name else None
        if values is None:
            table.add_row(label, value, "", "")
        else:
            table.add_row(label, value, Text(sparkline(values), style="cyan"), series_range(values, fmt))

    row("calls", count(group.calls), "calls", count)
    row("errors", f"{count(group.errors)} ({rate_percent(group.error_rate)})", "errors", count)
    if group.errors_by_code:  # beside the trends, where a long list does not widen the column of figures
        table.add_row("error codes", "", Text(top_error_codes(group.errors_by_code)), "")
    row("p50 ms", number(group.p50_ms), "p50_ms")
    row("p90 ms", number(group.p90_ms))
    row("p99 ms", number(group.p99_ms), "p99_ms")
    row("cpu % avg", percent(group.cpu_percent_avg), "cpu_percent", percent)
    row("rss max", human_bytes(group.rss_bytes_max), "rss_bytes", human_bytes)
    row(STARTUP_LABEL, number(group.startup_ms_avg))
    row("net bytes", human_bytes(group.net_bytes))
    for name in list(series):  # series the service added that this CLI does not know by name
        row(name, "", name)
    return table


def marks_table(reply: ShowReply) -> RenderableType:
    if not reply.marks:
        return Text("no loads, reloads or crashes in the span")
    table = Table(title="version marks", title_justify="left", title_style="bold", header_style="bold", box=None, pad_edge=False)
    for column in ("at", "host", "version", "event"):
        table.add_column(column, no_wrap=True)
    for mark in reply.marks:
        style = "red" if "crash" in mark.event.lower() else ""
        table.add_row(timestamp(mark.at), Text(mark.host), Text(mark.version), Text(mark.event, style=style))
    return table


def show_renderable(reply: ShowReply) -> Group:
    """Everything `plugyard telemetry show` prints: the header, a table per group, the version marks."""
    parts: list[RenderableType] = [show_header(reply), Text("")]
    if not reply.groups:
        parts += [Text("no calls or samples in the span"), Text("")]
    for group in reply.groups:
        parts += [group_table(group, title=group_label(group.key, default=reply.name)), Text("")]
    parts.append(marks_table(reply))
    return Group(*parts)


# --- alerts and recommendations --------------------------------------------------------------------------------


def alerts_table(reply: AlertsReply, *, open_only: bool = False) -> RenderableType:
    """An alert per row: the metric's value against the rule's threshold, raised → resolved (a second line), and
    the message, which wraps in what width is left."""
    if not reply.alerts:
        return Text("no open alerts" if open_only else "no alerts")
    table = Table(header_style="bold", box=None, pad_edge=False, collapse_padding=True)
    for column in ("state", "rule", "plugin", "host", "value vs threshold", "raised → resolved"):
        table.add_column(column, no_wrap=True)
    table.add_column("message", min_width=20, overflow="fold")
    for alert in reply.alerts:
        plugin = f"{alert.name}=={alert.version}" if alert.version else alert.name
        when = timestamp(alert.raised_at) + (f"\n→ {timestamp(alert.resolved_at)}" if alert.resolved_at else "")
        table.add_row(
            Text(alert.state, style="bold red" if alert.state == "open" else "green"), Text(alert.rule), Text(plugin),
            Text(alert.host), Text(f"{alert.metric} {number(alert.value)} vs {number(alert.threshold)}"), when, Text(alert.message),
        )
    return table


def recommendation_lines(rec: Recommendation) -> list[str]:
    """A recommendation as plain lines: who, what was measured against what, the advice, the evidence indented."""
    who = rec.name + (f"=={rec.version}" if rec.version else "") + (f" on {rec.host}" if rec.host else "")
    lines = [
        f"{who}: {rec.kind}",
        f"  {rec.metric} {number(rec.value)} (threshold {number(rec.threshold)}, over {rec.window})",
        *(f"  {line}" for line in rec.advice.splitlines() or [""]),
    ]
    if rec.evidence:
        lines.append("  evidence:")
        lines += _evidence_lines(rec.evidence, indent=4)
    return lines


def _evidence_lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    if not isinstance(value, (dict, list, tuple)):
        return _scalar_lines(value, pad, indent)
    # A mapping's entries are marked by their key, a list's by a dash; either nests the same way.
    marked = ((f"{key}:", item) for key, item in value.items()) if isinstance(value, dict) else (("-", item) for item in value)
    lines: list[str] = []
    for mark, item in marked:
        if _is_scalar(item):
            lines += _scalar_lines(item, f"{pad}{mark} ", indent + 2)
        else:
            lines.append(f"{pad}{mark}")
            lines += _evidence_lines(item, indent + 2)
    return lines


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list, tuple))


def _scalar_lines(value: Any, first: str, indent: int) -> list[str]:
    """A value after `first`; a multi-line string (a stack) continues on lines indented under it."""
    text = "null" if value is None else str(value)
    head, *rest = text.splitlines() or [""]
    return [first + head, *(" " * indent + line for line in rest)]


def recommendations_lines(reply: RecommendationsReply, name: str | None = None) -> list[str]:
    if not reply.recommendations:
        return [f"no recommendations for {name}" if name else "no recommendations"]
    lines: list[str] = []
    for index, rec in enumerate(reply.recommendations):
        if index:
            lines.append("")
        lines += recommendation_lines(rec)
    return lines


def lines_text(lines: Iterable[str]) -> Text:
    return Text("\n".join(lines))
