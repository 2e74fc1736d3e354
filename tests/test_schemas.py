"""The checked-in JSON Schemas and AsyncAPI document are what the models generate; other teams read those files."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "schemas" / "generate.py"


def load_generator(here: Path):
    spec = importlib.util.spec_from_file_location("schema_generator", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.HERE = here
    return module


def test_checked_in_schemas_are_current():
    done = subprocess.run([sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, f"stale schema files (run 'make schemas'):\n{done.stdout}{done.stderr}"


def test_check_names_a_stale_file(tmp_path, monkeypatch, capsys):
    copy = tmp_path / "schemas"
    shutil.copytree(ROOT / "schemas" / "json", copy / "json")
    shutil.copy(ROOT / "schemas" / "asyncapi.json", copy / "asyncapi.json")
    generator = load_generator(copy)
    monkeypatch.setattr(sys, "argv", ["generate.py", "--check"])
    assert generator.main() == 0
    (copy / "json" / "CloudEvent.json").write_text("{}\n")
    assert generator.main() == 1
    assert "CloudEvent.json" in capsys.readouterr().out


def test_asyncapi_documents_every_rpc_and_the_event_streams():
    document = json.loads((ROOT / "schemas" / "asyncapi.json").read_text())
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert {"plugyard.rpc.ledger.sql", "plugyard.rpc.ledger.verify", "plugyard.rpc.ledger.health", "plugyard.evt.>", "plugyard.tel.>"} <= addresses


def test_cloudevent_schema_requires_the_envelope_attributes():
    schema = json.loads((ROOT / "schemas" / "json" / "CloudEvent.json").read_text())
    assert set(schema["required"]) == {"specversion", "id", "source", "type"}
