"""The stack as a user runs it: `plugyard up`, status, events from a plain nats-py client, audit SQL, verify, stop."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plugyard_core.services import SERVICES

from tests.stack.support import PLUGYARD, start_stack

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = start_stack(tmp_path_factory.mktemp("stack"))
    yield running
    running.stop()


def readme_python_snippet() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    snippet = next(b for b in blocks if "import nats" in b and "plugyard.evt" in b)
    assert "import plugyard" not in snippet and "from plugyard" not in snippet, "the README's example must not import Plugyard"
    return snippet


def test_status_reports_streams_and_healthy_ledger(stack):
    status = stack.cli_json("status")
    assert status["healthy"] is True
    assert {s["name"] for s in status["streams"] if s["exists"]} == {"PLUGYARD_EVENTS", "PLUGYARD_TELEMETRY"}
    assert [s["name"] for s in status["services"]] == list(SERVICES)
    assert (stack.data_dir / "nats.url").read_text().strip() == stack.url


def test_readme_nats_py_snippet_lands_in_the_warehouse(stack, tmp_path):
    script = tmp_path / "other_team.py"
    script.write_text(readme_python_snippet().replace('data=".plugyard"', f'data="{stack.data_dir}"'))
    for _ in range(2):  # the same program twice: two distinct events (fresh UUIDs)
        subprocess.run([sys.executable, str(script)], check=True, timeout=30)
    stack.wait_for("SELECT count(*) FROM events WHERE source = 'acme/orders'", 2)
    rows = stack.sql("SELECT type, subject, data->>'order' FROM events WHERE source = 'acme/orders'")
    assert rows[0] == ["com.acme.order.Shipped", "order-42", "42"]


def test_cli_publish_is_deduplicated_by_id_and_tail_shows_it(stack):
    args = ["events", "publish", "plugyard.evt.acmecli.Shipped", "--type", "com.acme.T", "--source", "acme/cli", "--id", "fixed-1", "--data", '{"n": 1}']
    first = stack.cli_json(*args)
    second = stack.cli_json(*args)
    assert first["duplicate"] is False and second["duplicate"] is True
    stack.wait_for("SELECT count(*) FROM events WHERE source = 'acme/cli'", 1)
    tail = stack.cli("events", "tail", "plugyard.evt.acmecli.>", "--from-start", "-n", "1", "--json")
    assert tail.returncode == 0
    assert json.loads(tail.stdout.splitlines()[0])["event"]["id"] == "fixed-1"


def test_bad_cli_input_is_a_one_line_usage_error(stack):
    bad_json = stack.cli("events", "publish", "plugyard.evt.acme.X", "--type", "t", "--source", "s", "--data", "{nope", "--json")
    assert bad_json.returncode == 64
    assert json.loads(bad_json.stdout)["error"]["code"] == "invalid_request"
    assert "Traceback" not in bad_json.stderr and "--data is not JSON" in bad_json.stderr
    wrong_subject = stack.cli("events", "publish", "orders.x", "--type", "t", "--source", "s")
    assert wrong_subject.returncode == 64 and "plugyard.evt." in wrong_subject.stderr


def test_audit_sql_refuses_writes_and_keeps_rows(stack):
    stack.cli_json("events", "publish", "plugyard.evt.acme.Shipped", "--type", "t", "--source", "acme/keep", "--data", "1")
    stack.wait_for("SELECT count(*) FROM events WHERE source = 'acme/keep'", 1)
    for statement in ("DELETE FROM events", "DROP TABLE events", "UPDATE events SET data = '1'", "SELECT 1; DELETE FROM events"):
        done = stack.cli("audit", "sql", statement, "--json")
        assert done.returncode == 1, statement
        assert json.loads(done.stdout)["error"]["code"] == "refused"
    assert stack.sql("SELECT count(*) FROM events WHERE source = 'acme/keep'") == [[1]]
    broken = stack.cli("audit", "sql", "SELEC nonsense", "--json")
    assert broken.returncode == 64 and "Traceback" not in broken.stderr
    assert stack.cli("audit", "verify").returncode == 0


def test_csv_and_table_formats(stack):
    csv_out = stack.cli("audit", "sql", "SELECT 1 AS a, 'x' AS b", "--format", "csv")
    assert csv_out.stdout.splitlines() == ["a,b", "1,x"]
    table = stack.cli("audit", "sql", "SELECT 1 AS a")
    assert table.returncode == 0 and "a" in table.stdout


def test_a_killed_service_is_restarted(stack):
    pid = stack.cli_json("status")["services"][0]["details"]["pid"]
    subprocess.run(["kill", "-9", str(pid)], check=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done = stack.cli("status", "--json")
        if done.returncode == 0 and json.loads(done.stdout)["services"][0]["details"]["pid"] != pid:
            break
        time.sleep(0.5)
    else:
        raise AssertionError("the ledger was not restarted:\n" + stack.output())
    assert "restarting" in stack.output()


def test_sigterm_stops_everything_and_removes_the_url_file(tmp_path):
    stack = start_stack(tmp_path)
    pid = stack.cli_json("status")["services"][0]["details"]["pid"]
    assert stack.stop() == 0
    assert not (stack.data_dir / "nats.url").exists()
    with pytest.raises(ProcessLookupError):
        import os

        os.kill(pid, 0)
    assert stack.cli("status").returncode == 69


def test_a_taken_explicit_port_is_refused_with_what_to_do(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        done = subprocess.run([PLUGYARD, "up", "--data-dir", str(tmp_path), "--nats-port", str(port)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 69
    assert f"port {port}" in done.stderr and "--nats-url" in done.stderr and "Traceback" not in done.stderr


def test_status_without_a_stack_exits_69(tmp_path):
    done = subprocess.run([PLUGYARD, "status", "--json"], capture_output=True, text=True, timeout=30,
                          env={"PATH": "/usr/bin:/bin", "PLUGYARD_NATS_URL": "nats://127.0.0.1:1"})
    assert done.returncode == 69
    assert json.loads(done.stdout)["nats_ok"] is False


def test_default_port_taken_picks_a_free_one_and_says_so(tmp_path):
    holder = None
    if socket.socket().connect_ex(("127.0.0.1", 4222)) != 0:  # nothing there: take 4222 ourselves for the test
        holder = socket.socket()
        holder.bind(("127.0.0.1", 4222))
        holder.listen()
    data_dir = tmp_path / "data"
    log = tmp_path / "up.log"
    import os
    import signal

    with open(log, "wb") as out:
        process = subprocess.Popen([PLUGYARD, "up", "--data-dir", str(data_dir)], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "plugyard is up" not in log.read_text():
            assert process.poll() is None, log.read_text()
            time.sleep(0.3)
        text = log.read_text()
        assert "port 4222 is taken" in text
        url = (data_dir / "nats.url").read_text().strip()
        assert url != "nats://127.0.0.1:4222"
        done = subprocess.run([PLUGYARD, "status", "--data-dir", str(data_dir), "--json"], capture_output=True, text=True, timeout=30,
                              env={k: v for k, v in os.environ.items() if k != "PLUGYARD_NATS_URL"})
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["nats_url"] == url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
        if holder:
            holder.close()


def readme_duckdb_snippet() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    return next(b for b in blocks if "import duckdb" in b)


def test_readme_duckdb_snippet_reads_segments_while_the_service_runs(stack, tmp_path):
    for n in range(3):
        stack.cli_json("events", "publish", "plugyard.evt.acme.Seg", "--type", "com.acme.Seg", "--source", "acme/segments", "--data", str(n))
    stack.wait_for("SELECT count(*) FROM events WHERE source = 'acme/segments'", 3)
    script = tmp_path / "own_session.py"
    script.write_text(readme_duckdb_snippet().replace(".plugyard/", f"{stack.data_dir}/") + "\nprint('SEGMENT-COUNT', con.execute(\"SELECT count(*) FROM events WHERE source = 'acme/segments'\").fetchall()[0][0])\n")
    deadline = time.monotonic() + 30  # segments are sealed at least every 10 s
    while True:
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
        if done.returncode == 0 and "SEGMENT-COUNT 3" in done.stdout:
            break
        assert time.monotonic() < deadline, done.stdout + done.stderr
        time.sleep(1)


def test_verify_names_the_first_tampered_row(tmp_path):
    import duckdb

    stack = start_stack(tmp_path)
    for n in range(5):
        stack.cli_json("events", "publish", "plugyard.evt.acme.T", "--type", "com.acme.T", "--source", "acme/tamper", "--id", f"t{n}", "--data", str(n))
    stack.wait_for("SELECT count(*) FROM events WHERE source = 'acme/tamper'", 5)
    row_no = stack.sql("SELECT row_no FROM events WHERE id = 't2'")[0][0]
    assert stack.stop() == 0
    with duckdb.connect(str(stack.data_dir / "ledger" / "warehouse.duckdb")) as con:
        con.execute("UPDATE events SET data = '99' WHERE id = 't2'")
    restarted = start_stack(tmp_path)  # the same data dir, a new port
    try:
        done = restarted.cli("audit", "verify")
        assert done.returncode == 1
        assert f"row {row_no}" in done.stdout and "t2" in done.stdout
        as_json = json.loads(restarted.cli("audit", "verify", "--json").stdout)
        assert as_json["ok"] is False and as_json["first_broken_row"] == row_no and as_json["broken_id"] == "t2"
    finally:
        restarted.stop()
