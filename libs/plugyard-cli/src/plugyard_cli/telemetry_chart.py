"""`plugyard telemetry chart`: a ShowReply drawn with matplotlib into a PNG or SVG.

matplotlib is imported inside `draw_chart` only: importing it takes long, and every other command would pay for
it at start-up. The figure is drawn on the Agg canvas without pyplot (no GUI, no global figure state), so it
renders headless; SVG text is kept as text (not glyph paths), so the labels can be searched and read.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

from plugyard_cli.telemetry_render import group_label, timestamp
from plugyard_schemas.telemetry import ShowReply

CHART_SUFFIXES = (".png", ".svg")
MIB = 1024 * 1024

# (title of the panel, [(series, line style, legend suffix, scale)])
PANELS: tuple[tuple[str, tuple[tuple[str, str, str, float], ...]], ...] = (
    ("latency (ms)", (("p50_ms", "-", "p50", 1.0), ("p99_ms", "--", "p99", 1.0))),
    ("calls & errors per step", (("calls", "-", "calls", 1.0), ("errors", ":", "errors", 1.0))),
    ("cpu %", (("cpu_percent", "-", "", 1.0),)),
    ("rss (MiB)", (("rss_bytes", "-", "", 1.0 / MIB),)),
)


class ChartProblem(ValueError):
    """The chart cannot be written where it was asked for; the message says why."""


def check_chart_path(out: Path) -> None:
    if out.suffix.lower() not in CHART_SUFFIXES:
        raise ChartProblem(f"--out {str(out)!r}: a chart is written as .png or .svg, not {out.suffix or 'a file without a suffix'}")


def chart_series(reply: ShowReply) -> list[dict[str, Any]]:
    """What the chart draws: for each group, its label, its key, and the series that have data."""
    drawn = {name for _, lines in PANELS for name, *_ in lines}
    return [
        {
            "group": group_label(group.key, default=reply.name),
            "key": group.key,
            "series": [name for name, values in group.series.items() if name in drawn and any(_finite(v) for v in values)],
        }
        for group in reply.groups
    ]


def draw_chart(reply: ShowReply, out: Path) -> Path:
    """Draw latency p50/p99, calls & errors, cpu % and rss over `reply.times`, a line per group, with a vertical
    line at each version mark (labelled with the version) in every panel; write `out` (.png or .svg)."""
    out = Path(out)
    check_chart_path(out)
    import matplotlib

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    xs, as_dates = _x_values(reply.times)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "plugyard"}):
        figure = Figure(figsize=(11, 11), layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.subplots(len(PANELS), 1, sharex=True, squeeze=False)[:, 0]
        which = f"{reply.name}=={reply.version}" if reply.version else f"{reply.name} (all versions)"
        figure.suptitle(f"{which}: {timestamp(reply.since)} → {timestamp(reply.until)} ({reply.resolution} data, step {reply.step_s:g}s)")
        colours = [f"C{i % 10}" for i in range(len(reply.groups))]
        for ax, (title, lines) in zip(axes, PANELS):
            ax.set_title(title, loc="left", fontsize="medium")
            ax.grid(True, alpha=0.3)
            for group, colour in zip(reply.groups, colours):
                label = group_label(group.key, default=reply.name)
                for name, style, suffix, scale in lines:
                    values = group.series.get(name)
                    if not values or not xs:
                        continue
                    ys = [v * scale if _finite(v) else math.nan for v in values[: len(xs)]]
                    ys += [math.nan] * (len(xs) - len(ys))
                    ax.plot(xs, ys, linestyle=style, color=colour, marker="." if len(xs) < 40 else None,
                            label=f"{label} {suffix}".strip())
            for mark in reply.marks:
                at = _x_of(mark.at, as_dates, reply.times)
                if at is None:
                    continue
                ax.axvline(at, color=_mark_colour(mark.event), linestyle="-.", linewidth=1, alpha=0.8)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(loc="upper left", fontsize="small", ncols=min(4, max(1, len(reply.groups))))
            else:
                ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="gray")
        _label_marks(axes[0], reply, as_dates)
        if as_dates:
            span = [_x_of(reply.since, True, reply.times), _x_of(reply.until, True, reply.times)]
            if None not in span and span[0] < span[1]:
                axes[-1].set_xlim(*span)
            locator = AutoDateLocator()
            axes[-1].xaxis.set_major_locator(locator)
            axes[-1].xaxis.set_major_formatter(ConciseDateFormatter(locator))
        else:
            axes[-1].set_xlabel("step")
        try:
            figure.savefig(out, format=out.suffix.lower().lstrip("."))
        except OSError as exc:
            raise ChartProblem(f"cannot write {out}: {exc.strerror or exc}") from None
    return out


def _label_marks(ax: Any, reply: ShowReply, as_dates: bool) -> None:
    """The version (and event, and host when there are several) beside each mark, at the top of the first panel."""
    hosts = {mark.host for mark in reply.marks}
    for mark in reply.marks:
        at = _x_of(mark.at, as_dates, reply.times)
        if at is None:
            continue
        text = f"{mark.version} {mark.event}" + (f" @{mark.host}" if len(hosts) > 1 else "")
        ax.annotate(text, xy=(at, 1.0), xycoords=("data", "axes fraction"), xytext=(2, -2), textcoords="offset points",
                    rotation=90, ha="left", va="top", fontsize="x-small", color="dimgray")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=None) if moment.tzinfo is None else moment


def _x_values(times: list[str]) -> tuple[list[Any], bool]:
    """The times as datetimes when all of them parse, else the step numbers."""
    parsed = [_parse_time(t) for t in times]
    if parsed and all(p is not None for p in parsed):
        aware = {p.tzinfo is not None for p in parsed}  # type: ignore[union-attr]
        if len(aware) == 1:
            return parsed, True
    return list(range(len(times))), False


def _x_of(at: str, as_dates: bool, times: list[str]) -> Any:
    """Where a mark goes on the x axis; None when it cannot be placed (the steps' times did not parse)."""
    moment = _parse_time(at)
    if not as_dates or moment is None:
        return None
    first = _parse_time(times[0])
    if first is None or (first.tzinfo is None) != (moment.tzinfo is None):
        return None
    return moment


def _mark_colour(event: str) -> str:
    event = event.lower()
    if "crash" in event or "fail" in event:
        return "tab:red"
    if "reload" in event:
        return "tab:blue"
    return "tab:green" if "load" in event else "tab:gray"
