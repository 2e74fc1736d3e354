"""The pure rendering of the telemetry commands: sparklines, units, `--since`, NAME==VERSION, and the tables built
from replies (no server)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console, RenderableType

from plugyard_cli.telemetry_render import (
    STARTUP_LABEL,
    ArgumentProblem,
    alerts_table,
    human_bytes,
    parse_duration,
    parse_name_version,
    rate_percent,
    recommendations_lines,
    show_renderable,
    sparkline,
    top_error_codes,
    top_table,
    top_view,
)
from plugyard_schemas.telemetry import AlertsReply, RecommendationsReply, TopReply
from tests.cli_telemetry.replies import alerts_reply, recommendations_reply, show_reply, top_reply


def render(renderable: RenderableType) -> list[str]:
    buffer = io.StringIO()
    Console(file=buffer, width=200, color_system=None).print(renderable)
    return [line.rstrip() for line in buffer.getvalue().splitlines()]


def line_starting(lines: list[str], *words: str) -> str:
    found = [line for line in lines if line.split()[: len(words)] == list(words)]
    assert len(found) == 1, (words, lines)
    return found[0]


# --- sparkline -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0, 1, 2, 3, 4, 5, 6, 7], "▁▂▃▄▅▆▇█"),
        ([7, 6, 5, 4, 3, 2, 1, 0], "█▇▆▅▄▃▂▁"),
        ([0, 100, 50], "▁█▅"),
        ([1, None, 3], "▁ █"),
        ([float("nan"), 1.0, 2.0], " ▁█"),
        ([None, None], "  "),
        ([], ""),
        ([0, 0, 0], "▁▁▁"),  # no load is the bottom
        ([5, 5, 5], "▄▄▄"),  # a steady load is not drawn as none
        ([-2.0, 0.0, 2.0], "▁▅█"),
        ([0, 1, 5, 14], "▁▂▄█"),  # 0.5 and 2.5 of 7 steps: halves round up, not to even
    ],
)
def test_sparkline(values, expected) -> None:
    assert sparkline(values) == expected
    assert len(sparkline(values)) == len(values)


def test_human_bytes_and_rates() -> None:
    assert [human_bytes(v) for v in (None, 0, 1023, 1024, 1536, 50 * 1024**2, 3 * 1024**3, 5 * 1024**5)] == [
        "-", "0 B", "1023 B", "1.0 KiB", "1.5 KiB", "50.0 MiB", "3.0 GiB", "5120.0 TiB",
    ]
    assert [rate_percent(v) for v in (None, 0.0, 0.0125, 0.5)] == ["-", "0.00%", "1.25%", "50.0%"]


# --- --since ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("1h", 3600), ("7d", 7 * 86400), ("4w", 28 * 86400), ("1.5h", 5400), (" 2H ", 7200), ("90 s", 90)],
)
def test_durations(text, seconds) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5x", "", "h", "1h30m", "-1h", "1", "one hour", "1e3s"])
def test_a_bad_duration_is_an_error_naming_it(text) -> None:
    with pytest.raises(ArgumentProblem) as caught:
        parse_duration(text)
    assert str(caught.value) == (
        f"--since {text!r} is not a duration: use a number and a unit s, m, h, d or w (30s, 15m, 1h, 7d, 4w)"
    )


def test_a_duration_out_of_bounds_is_an_error_naming_it() -> None:
    with pytest.raises(ArgumentProblem, match=r"^--since '0s' must be longer than 0$"):
        parse_duration("0s")
    with pytest.raises(ArgumentProblem, match=r"^--since '60w' is longer than the 400 days kept$"):
        parse_duration("60w")


# --- NAME==VERSION ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("textkit", ("textkit", None)),
        ("textkit==1.2.0", ("textkit", "1.2.0")),
        (" text-kit == 1.2.0rc1 ", ("text-kit", "1.2.0rc1")),
        ("a.b_c==0.1+local", ("a.b_c", "0.1+local")),
    ],
)
def test_name_and_version(text, parsed) -> None:
    assert parse_name_version(text) == parsed


@pytest.mark.parametrize("text", ["", "==1.0", "textkit==", "textkit>=1.0", "textkit==1.0==2.0", "text kit", "textkit=1.0"])
def test_a_bad_plugin_is_an_error_naming_it(text) -> None:
    with pytest.raises(ArgumentProblem) as caught:
        parse_name_version(text)
    assert str(caught.value) == f"{text!r} is not a plugin: give NAME or NAME==VERSION (e.g. textkit or textkit==1.2.0)"


# --- tables ----------------------------------------------------------------------------------------------------


def test_the_top_table_shows_each_rows_numbers() -> None:
    lines = render(top_table(top_reply()))
    assert lines[0] == "plugyard top · 2025-01-02 03:04:05Z · window 60s · 2 plugins"
    assert lines[1].split() == ["host", "plugin", "version", "state", "calls/s", "error", "%", "p50", "ms", "p99", "ms", "cpu", "%", "rss", "restarts"]
    assert line_starting(lines, "h1").split() == ["h1", "textkit", "1.2.0", "running", "10.0", "1.25%", "3.5", "120", "12.3%", "50.0", "MiB", "1"]
    assert line_starting(lines, "h2").split() == ["h2", "imgkit", "0.1.0", "crashed", "0.00", "-", "-", "-", "-", "-", "3"]


def test_the_top_table_says_why_a_refresh_failed_and_when_nothing_runs() -> None:
    problem = "refresh failed: no service answers on plugyard.rpc.telemetry.top (retrying every 2s)"
    lines = render(top_view(top_reply(), problem=problem))
    assert lines == [*render(top_table(top_reply())), problem]
    empty = TopReply(at="2025-01-02T03:04:05+00:00", window_s=30, rows=[])
    assert render(top_view(empty))[1:] == ["host plugin version state calls/s error % p50 ms p99 ms cpu % rss restarts", "no plugins are running"]


def test_the_show_tables_show_each_groups_figures_trends_and_the_marks() -> None:
    lines = render(show_renderable(show_reply()))
    assert lines[0] == "textkit (all versions) · 2025-01-02 02:00:00Z → 2025-01-02 03:00:00Z · 5 points of 720s (minute data)"
    first, second = lines.index("version=1.2.0"), lines.index("version=1.3.0")
    group = lines[first:second]
    assert line_starting(group, "calls").split() == ["calls", "1,234", "▁▃", "▆█", "10–50"]
    assert line_starting(group, "errors").split() == ["errors", "12", "(0.97%)", "▁▂▁▃█", "0–9"]
    assert line_starting(group, "error", "codes").split() == ["error", "codes", "timeout", "×8,", "bad_args", "×3,", "oops", "×1"]
    assert line_starting(group, "p50", "ms").split() == ["p50", "ms", "3.5", "▁▁", "▅█", "3.0–5.0"]
    assert line_starting(group, "p90", "ms").split() == ["p90", "ms", "40.0"]
    assert line_starting(group, "p99", "ms").split() == ["p99", "ms", "250", "▁▆", "██", "100–250"]
    assert line_starting(group, "cpu", "%", "avg").split() == ["cpu", "%", "avg", "5.5%", "▁▃▅▆█", "1.0%–5.0%"]
    assert line_starting(group, "rss", "max").split() == ["rss", "max", "70.0", "MiB", "▁▂", "█▅", "60.0", "MiB–70.0", "MiB"]
    assert line_starting(group, *STARTUP_LABEL.split()).split() == [*STARTUP_LABEL.split(), "310"]
    assert line_starting(group, "net", "bytes").split() == ["net", "bytes", "4.0", "KiB"]
    other = lines[second: lines.index("version marks")]
    assert line_starting(other, "calls").split() == ["calls", "5", "▁▁▁▁█", "0–5"]
    assert line_starting(other, "p50", "ms").split() == ["p50", "ms", "-", "▄", "7.5–7.5"]  # one point: a flat series
    marks = lines[lines.index("version marks") + 1:]
    assert [line.split() for line in marks] == [
        ["at", "host", "version", "event"],
        ["2025-01-02", "02:30:00Z", "h1", "1.3.0", "reload"],
        ["2025-01-02", "02:40:00Z", "h1", "1.3.0", "crash"],
    ]


def test_show_without_groups_or_marks_says_so() -> None:
    reply = show_reply().model_copy(update={"groups": [], "marks": []})
    assert render(show_renderable(reply))[2:] == ["no calls or samples in the span", "", "no loads, reloads or crashes in the span"]


def test_the_alerts_table_shows_values_against_thresholds_and_prints_markup_as_text() -> None:
    lines = render(alerts_table(alerts_reply()))
    assert lines == [
        "state    rule       plugin         host value vs threshold      raised → resolved      message",
        "open     error-rate textkit==1.2.0 h1   error_rate 0.12 vs 0.05 2025-01-02 03:00:00Z   errors above 5% for 5 minutes",
        "resolved p99        imgkit         h2   p99_ms 2,500 vs 1,000   2025-01-02 01:00:00Z   p99 [slow] above 1 s",
        "                                                                → 2025-01-02 01:30:00Z",
    ]
    assert render(alerts_table(AlertsReply(alerts=[]), open_only=True)) == ["no open alerts"]


def test_top_error_codes_are_the_most_frequent_first() -> None:
    assert top_error_codes({"b": 2, "a": 2, "c": 9, "d": 1}) == "c ×9, a ×2, b ×2, +1 more"
    assert top_error_codes({"timeout": 1}) == "timeout ×1"


def test_recommendations_show_the_measurement_the_advice_and_the_evidence_indented() -> None:
    assert recommendations_lines(recommendations_reply()) == [
        "textkit==1.2.0 on h1: slow-action",
        "  p99_ms 2,500 (threshold 1,000, over 1h)",
        "  Cache the parsed model between calls.",
        "  evidence:",
        "    action: upper",
        "    stacks:",
        '      - File "a.py", line 1, in f',
        "          parse()",
        '      - File "b.py", line 9, in g',
        "",
        "imgkit: memory",
        "  rss_bytes 943,718,400 (threshold 536,870,912, over 24h)",
        "  Raise the memory limit or stream the image.",
    ]
    assert recommendations_lines(RecommendationsReply(recommendations=[]), "textkit") == ["no recommendations for textkit"]


def test_sql_tables_print_values_as_text_not_markup(capsys):
    from plugyard_cli.commands.audit import Format, print_sql_reply
    from plugyard_schemas.ledger import SqlReply

    print_sql_reply(SqlReply(columns=["[b]name"], rows=[["[/x] closes nothing"], [None]]), Format.table, 10)
    out = capsys.readouterr().out
    assert "[/x] closes nothing" in out and "[b]name" in out
