"""`plugyard scan PATH` offline, through the real CLI: exit codes, formats (SARIF validated against the OASIS
schema), policies, archives, and the worker's limits."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from plugyard_analysis.worker import WorkerLimits, analyse_in_worker
from plugyard_artifacts.pack import pack

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "plugins" / "textkit"
SARIF_SCHEMA = Path(sys.prefix) / "share" / "sarif" / "sarif-schema-2.1.0.json"
DECODE_AND_RUN = 'import base64\n\ndef start():\n    exec(base64.b64decode("cHJpbnQoJ2hpJyk="))\n'


def plugyard(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).parent / "plugyard"), *args], capture_output=True, text=True, timeout=180)


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    directory = tmp_path / "textkit"
    shutil.copytree(EXAMPLE, directory)
    return directory


def add_module(plugin: Path, text: str, name: str = "extra.py") -> None:
    (plugin / "plugyard_textkit" / name).write_text(text)


def test_a_clean_plugin_is_cleared(plugin: Path) -> None:
    done = plugyard("scan", str(plugin))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "CLEARED" in done.stdout


def test_malicious_code_is_quarantined_in_every_format(plugin: Path) -> None:
    add_module(plugin, DECODE_AND_RUN)
    text = plugyard("scan", str(plugin))
    assert text.returncode == 2 and "QUARANTINED" in text.stdout and "PY-EXEC-DECODED" in text.stdout
    as_json = plugyard("scan", str(plugin), "--format", "json")
    report = json.loads(as_json.stdout)
    assert as_json.returncode == 2 and report["verdict"] == "quarantined"
    assert any(f["rule"] == "PY-EXEC-DECODED" and f["path"].endswith("extra.py") and f["line"] == 4 for f in report["findings"])
    assert json.loads(plugyard("scan", str(plugin), "--json").stdout)["verdict"] == "quarantined"


def test_sarif_output_validates_against_the_sarif_schema(plugin: Path) -> None:
    assert SARIF_SCHEMA.exists(), f"{SARIF_SCHEMA} is missing: `make setup` fetches it (scripts/fetch_sarif_schema.py)"
    add_module(plugin, DECODE_AND_RUN)
    add_module(plugin, "def compute(expression):\n    return eval(expression)\n", "calc.py")
    done = plugyard("scan", str(plugin), "--format", "sarif")
    assert done.returncode == 2
    sarif = json.loads(done.stdout)
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.Draft7Validator(schema).validate(sarif)
    run = sarif["runs"][0]
    assert run["properties"]["verdict"] == "quarantined"
    results = {r["ruleId"]: r for r in run["results"]}
    assert results["PY-EXEC-DECODED"]["level"] == "error"
    location = results["PY-EXEC-DECODED"]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("extra.py") and location["region"]["startLine"] == 4
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert all(rule_ids[r["ruleIndex"]] == r["ruleId"] for r in run["results"])


def test_exit_1_when_warned_and_a_policy_file_changes_the_verdict(plugin: Path, tmp_path: Path) -> None:
    add_module(plugin, "def compute(expression):\n    return eval(expression)\n")
    warned = plugyard("scan", str(plugin), "--json")
    assert warned.returncode == 1, warned.stdout
    assert json.loads(warned.stdout)["verdict"] == "warned"
    strict = tmp_path / "strict.toml"
    strict.write_text('[rules]\nB307 = "quarantine"\n')
    assert plugyard("scan", str(plugin), "--policy", str(strict)).returncode == 2
    relaxed = tmp_path / "relaxed.toml"
    relaxed.write_text('[rules]\nB101 = "ignore"\nB307 = "ignore"\nPY-EXEC-DYNAMIC = "ignore"\nCAP-DYNAMIC-CODE = "ignore"\n')
    assert plugyard("scan", str(plugin), "--policy", str(relaxed)).returncode == 0


def test_a_scan_that_cannot_run_exits_3_naming_the_problem(plugin: Path, tmp_path: Path) -> None:
    missing = plugyard("scan", str(tmp_path / "nowhere"))
    assert missing.returncode == 3 and "nowhere" in missing.stderr and "Traceback" not in missing.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('[severity]\nhigh = "explode"\n')
    refused = plugyard("scan", str(plugin), "--policy", str(bad), "--json")
    assert refused.returncode == 3 and "severity.high" in refused.stderr
    assert json.loads(refused.stdout)["error"]["code"] == "invalid_request"
    (tmp_path / "broken.toml").write_text("[severity\n")
    assert plugyard("scan", str(plugin), "--policy", str(tmp_path / "broken.toml")).returncode == 3
    assert plugyard("scan", str(plugin), "--policy", str(tmp_path / "absent.toml")).returncode == 3


def test_archives_are_scanned_and_hostile_ones_quarantined(plugin: Path, tmp_path: Path) -> None:
    add_module(plugin, DECODE_AND_RUN)
    archive = pack(plugin, tmp_path / "plugin.tar.gz").path
    done = plugyard("scan", str(archive), "--json")
    assert done.returncode == 2 and any(f["rule"] == "PY-EXEC-DECODED" for f in json.loads(done.stdout)["findings"])
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"\x1f\x8b" + b"\x00" * 100)
    hostile = plugyard("scan", str(garbage), "--json")
    assert hostile.returncode == 2 and json.loads(hostile.stdout)["findings"][0]["rule"] == "SCAN-ARCHIVE"


def test_a_plugin_without_a_manifest_is_not_cleared(tmp_path: Path) -> None:
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose" / "code.py").write_text("x = 1\n")
    done = plugyard("scan", str(tmp_path / "loose"), "--json")
    assert done.returncode == 2 and any(f["rule"] == "SCAN-MANIFEST" for f in json.loads(done.stdout)["findings"])


def test_the_worker_turns_its_limits_into_a_quarantine(plugin: Path) -> None:
    slow = analyse_in_worker(plugin, limits=WorkerLimits(wall_seconds=0.05))
    assert slow.verdict == "quarantined" and slow.findings[0].rule == "SCAN-LIMIT" and "within" in slow.findings[0].message
    starved = analyse_in_worker(plugin, limits=WorkerLimits(memory_bytes=48 * 1024 * 1024))
    assert starved.verdict == "quarantined" and starved.findings[0].rule == "SCAN-LIMIT"


def test_a_file_that_takes_too_long_is_a_finding(plugin: Path) -> None:
    from plugyard_analysis.engine import AnalysisLimits, analyse_directory

    add_module(plugin, "x = [" + ", ".join(f"'{i}' + '{i}'" for i in range(60_000)) + "]\n", "slow.py")
    report = analyse_directory(plugin, limits=AnalysisLimits(file_seconds=0.01))
    assert report.verdict == "quarantined"
    assert any(f.rule == "SCAN-TIMEOUT" and f.path.endswith("slow.py") for f in report.findings)
