"""The telemetry commands through typer's CliRunner with the RPC call replaced by fixed replies (no server), and as
real `plugyard` processes for what a stack that is not running looks like and for start-up imports."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plugyard_cli import output
from plugyard_cli.commands import telemetry
from plugyard_cli.main import app
from plugyard_cli.output import EXIT_UNAVAILABLE, EXIT_USAGE, CliError
from plugyard_cli.telemetry_chart import chart_series
from plugyard_cli.telemetry_render import recommendations_lines
from plugyard_core.embedded_nats import free_port
from plugyard_schemas.ledger import SqlRequest
from plugyard_schemas.telemetry import AlertsRequest, RecommendationsRequest, ShowRequest, TopRequest
from tests.cli_telemetry.replies import alerts_reply, recommendations_reply, show_reply, sql_reply, top_reply
from tests.cli_telemetry.test_chart import png_size, svg_texts

REPO = Path(__file__).parents[2]
PLUGYARD = str(Path(sys.executable).parent / "plugyard")
REPLIES = {
    "top": top_reply,
    "show": show_reply,
    "sql": sql_reply,
    "alerts": alerts_reply,
    "recommendations": recommendations_reply,
}


class FakeTelemetry:
    """Stands in for `telemetry_call`: records each question, answers with the fixed reply of its verb (or with
    what `answers` holds: a reply, or an exception to raise)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object, type, float]] = []
        self.answers: list[object] = []

    def __call__(self, verb, request, reply_type, timeout):
        self.calls.append((verb, request, reply_type, timeout))
        answer = self.answers.pop(0) if self.answers else REPLIES[verb]()
        if isinstance(answer, BaseException):
            raise answer
        assert isinstance(answer, reply_type)
        return answer


@pytest.fixture
def fake(monkeypatch) -> FakeTelemetry:
    fake = FakeTelemetry()
    monkeypatch.setattr(telemetry, "telemetry_call", fake)
    monkeypatch.setattr(telemetry.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(output.console, "width", 200)
    return fake


@pytest.fixture
def cli() -> Callable:
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=True)

    return run


def json_out(result) -> object:
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def lines_of(result) -> list[str]:
    assert result.exit_code == 0, (result.output, result.exception)
    return [line.rstrip() for line in result.stdout.splitlines()]


def usage_error(result, message: str) -> None:
    assert isinstance(result.exception, CliError), (result.output, result.exception)
    assert result.exception.message == message
    assert result.exception.exit_code == EXIT_USAGE
    assert result.exception.code == "invalid_request"


# --- --json is the reply ---------------------------------------------------------------------------------------


def test_top_json_is_the_reply_and_asks_for_the_window(fake, cli) -> None:
    assert json_out(cli("top", "--json", "--window", "30")) == top_reply().model_dump()
    assert [(verb, request) for verb, request, *_ in fake.calls] == [("top", TopRequest(window_s=30.0))]


def test_show_json_is_the_reply_and_asks_for_the_plugin_span_groups_and_points(fake, cli) -> None:
    assert json_out(cli("telemetry", "show", "textkit==1.2.0", "--since", "15m", "--by", "host", "--points", "40", "--json")) == (
        show_reply().model_dump()
    )
    assert [(verb, request) for verb, request, *_ in fake.calls] == [
        ("show", ShowRequest(name="textkit", version="1.2.0", since_s=900.0, by="host", points=40))
    ]
    json_out(cli("telemetry", "show", "textkit", "--json"))
    assert fake.calls[-1][1] == ShowRequest(name="textkit", version=None, since_s=3600.0, by=None, points=30)


def test_sql_json_is_the_reply(fake, cli) -> None:
    assert json_out(cli("telemetry", "sql", "SELECT 1", "--json", "--max-rows", "2")) == sql_reply().model_dump()
    assert json_out(cli("telemetry", "sql", "SELECT 1", "--format", "json")) == sql_reply().model_dump()
    assert [(verb, request) for verb, request, *_ in fake.calls] == [
        ("sql", SqlRequest(sql="SELECT 1", max_rows=2)), ("sql", SqlRequest(sql="SELECT 1", max_rows=10_000)),
    ]


def test_alerts_and_recommendations_json_are_the_replies(fake, cli) -> None:
    assert json_out(cli("alerts", "--json")) == alerts_reply().model_dump()
    assert json_out(cli("alerts", "--open", "--json", "--limit", "5")) == alerts_reply().model_dump()
    assert json_out(cli("recommendations", "--json")) == recommendations_reply().model_dump()
    assert json_out(cli("recommendations", "textkit", "--json")) == recommendations_reply().model_dump()
    assert [(verb, request) for verb, request, *_ in fake.calls] == [
        ("alerts", AlertsRequest(open_only=False, limit=200)),
        ("alerts", AlertsRequest(open_only=True, limit=5)),
        ("recommendations", RecommendationsRequest(name=None)),
        ("recommendations", RecommendationsRequest(name="textkit")),
    ]


# --- what people read ------------------------------------------------------------------------------------------


def test_top_once_prints_one_table(fake, cli) -> None:
    lines = lines_of(cli("top", "--once"))
    assert lines[0].startswith("plugyard top · 2025-01-02 03:04:05Z · window 60s")
    assert [line.split()[:5] for line in lines[2:]] == [
        ["h1", "textkit", "1.2.0", "running", "10.0"], ["h2", "imgkit", "0.1.0", "crashed", "0.00"],
    ]
    assert len(fake.calls) == 1


def test_top_refreshes_until_ctrl_c_keeping_the_last_table_when_a_refresh_fails(fake, cli) -> None:
    fake.answers = [
        top_reply(calls_per_s=10.0),
        top_reply(calls_per_s=42.0),
        CliError("no service answers on plugyard.rpc.telemetry.top", code="unavailable", exit_code=EXIT_UNAVAILABLE),
        KeyboardInterrupt(),
    ]
    result = cli("top", "--interval", "0.5")
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert len(fake.calls) == 4  # the first table, two refreshes, and the one Ctrl-C interrupted
    final = lines_of(result)  # a pipe sees the last frame when the live view stops
    assert final[2].split()[:5] == ["h1", "textkit", "1.2.0", "running", "42.0"]
    assert final[-1] == "refresh failed: no service answers on plugyard.rpc.telemetry.top (retrying every 0.5s)"
    assert "Traceback" not in result.output


def test_top_fails_at_once_when_the_first_question_fails(fake, cli) -> None:
    fake.answers = [CliError("no service answers on plugyard.rpc.telemetry.top", code="unavailable", exit_code=EXIT_UNAVAILABLE)]
    result = cli("top")
    assert isinstance(result.exception, CliError) and result.exception.exit_code == EXIT_UNAVAILABLE
    assert len(fake.calls) == 1


def test_show_prints_a_table_per_group_and_the_marks(fake, cli) -> None:
    lines = lines_of(cli("telemetry", "show", "textkit", "--by", "version"))
    assert lines[0].startswith("textkit (all versions) · 2025-01-02 02:00:00Z → 2025-01-02 03:00:00Z")
    assert "version=1.2.0" in lines and "version=1.3.0" in lines and "version marks" in lines
    assert any(line.split() == ["calls", "1,234", "▁▃", "▆█", "10–50"] for line in lines)
    assert lines[-1].split() == ["2025-01-02", "02:40:00Z", "h1", "1.3.0", "crash"]


def test_sql_prints_a_table_or_csv(fake, cli) -> None:
    lines = lines_of(cli("telemetry", "sql", "SELECT name, calls FROM t", "--max-rows", "2"))
    assert [line.split("│")[1:3] for line in lines if "textkit" in line or "imgkit" in line] == [[" textkit ", " 3     "], [" imgkit  ", "       "]]
    assert lines[-1] == "only the first 2 rows are shown (--max-rows)"
    result = cli("telemetry", "sql", "SELECT name, calls FROM t", "-f", "csv")
    assert list(csv.reader(io.StringIO(result.stdout))) == [["name", "calls"], ["textkit", "3"], ["imgkit", ""]]


def test_alerts_and_recommendations_print_for_people(fake, cli) -> None:
    assert lines_of(cli("alerts", "--open"))[1].split()[:8] == ["open", "error-rate", "textkit==1.2.0", "h1", "error_rate", "0.12", "vs", "0.05"]
    assert lines_of(cli("recommendations")) == recommendations_lines(recommendations_reply())


def test_chart_writes_the_file_and_says_where(fake, cli, tmp_path) -> None:
    out = tmp_path / "textkit.svg"
    assert json_out(cli("telemetry", "chart", "textkit==1.2.0", "--out", str(out), "--json")) == {
        "path": str(out), "series": chart_series(show_reply()),
    }
    assert "1.3.0 reload" in svg_texts(out)
    assert fake.calls[0][1] == ShowRequest(name="textkit", version="1.2.0", since_s=3600.0, points=120)
    png = tmp_path / "textkit.png"
    result = cli("telemetry", "chart", "textkit", "--out", str(png), "--since", "7d", "--points", "200")
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.stdout == f"wrote {png}\n"
    png_size(png.read_bytes())
    assert fake.calls[1][1] == ShowRequest(name="textkit", since_s=7 * 86400.0, points=200)


# --- usage errors, before any question -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("telemetry", "show", "textkit", "--since", "5x"),
         "--since '5x' is not a duration: use a number and a unit s, m, h, d or w (30s, 15m, 1h, 7d, 4w)"),
        (("telemetry", "show", "textkit>=1.0"), "'textkit>=1.0' is not a plugin: give NAME or NAME==VERSION (e.g. textkit or textkit==1.2.0)"),
        (("telemetry", "show", "textkit", "--since", "0m"), "--since '0m' must be longer than 0"),
        (("telemetry", "show", "textkit", "--points", "1"), "--points 1: between 2 and 500 points"),
        (("telemetry", "chart", "textkit", "--out", "chart.jpg"), "--out 'chart.jpg': a chart is written as .png or .svg, not .jpg"),
        (("telemetry", "chart", "textkit", "--out", "chart.png", "--since", "1y"),
         "--since '1y' is not a duration: use a number and a unit s, m, h, d or w (30s, 15m, 1h, 7d, 4w)"),
        (("top", "--window", "0"), "--window 0: above 0 and at most 86400 seconds"),
        (("top", "--interval", "0"), "--interval 0: at least 0.1 and at most 3600 seconds"),
        (("telemetry", "sql", ""), "sql: String should have at least 1 character"),
        (("recommendations", ""), "name: String should have at least 1 character"),
    ],
)
def test_a_bad_argument_is_a_usage_error_naming_it_and_nothing_is_asked(fake, cli, args, message) -> None:
    usage_error(cli(*args), message)
    assert fake.calls == []


# --- real processes --------------------------------------------------------------------------------------------


def plugyard(*args: str, nats_url: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PLUGYARD_NATS_URL": nats_url, "PLUGYARD_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    env.pop("PLUGYARD_NATS_CREDS", None)
    return subprocess.run([PLUGYARD, *args], env=env, capture_output=True, text=True, timeout=120)


def assert_one_line_error(done: subprocess.CompletedProcess, *, exit_code: int, code: str, message: str) -> None:
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [f"error: {message}"], done.stderr
    assert done.returncode == exit_code
    assert json.loads(done.stdout) == {"error": {"code": code, "message": message}}


def test_without_a_stack_each_command_says_is_the_stack_up(tmp_path) -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    done = plugyard("top", "--json", nats_url=url, tmp_path=tmp_path)
    assert done.stderr.startswith(f"error: cannot reach NATS at {url}: ")
    assert done.stderr.rstrip().endswith("(is the stack up? set PLUGYARD_NATS_URL or run 'plugyard up')")
    assert_one_line_error(done, exit_code=EXIT_UNAVAILABLE, code="unavailable", message=done.stderr[len("error: "):].rstrip("\n"))


def test_with_nats_but_no_telemetry_service_the_subject_is_named(nats_server, tmp_path) -> None:
    done = plugyard("telemetry", "show", "textkit", "--json", nats_url=nats_server.url, tmp_path=tmp_path)
    assert_one_line_error(done, exit_code=EXIT_UNAVAILABLE, code="unavailable", message="no service answers on plugyard.rpc.telemetry.show")
    done = plugyard("alerts", nats_url=nats_server.url, tmp_path=tmp_path)
    assert done.returncode == EXIT_UNAVAILABLE
    assert done.stderr == "error: no service answers on plugyard.rpc.telemetry.alerts\n"


def test_the_cli_starts_without_matplotlib() -> None:
    """`plugyard top --help` (any command but chart) never imports matplotlib: it takes long to import."""
    code = "import sys; sys.argv = ['plugyard', 'top', '--help']; from plugyard_cli.main import run; run()"
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "--interval" in done.stdout
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    assert "plugyard_cli.commands.telemetry" in imported and "plugyard_cli.telemetry_render" in imported
    assert [name for name in imported if name.split(".")[0] == "matplotlib" or name == "plugyard_cli.telemetry_chart"] == []
