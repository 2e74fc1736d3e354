"""META-* rules: typosquatting names, empty metadata, deceptive claims, bundled compiled code."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from plugyard_analysis.capabilities import bundled_code
from plugyard_analysis.context import ScanContext
from plugyard_analysis.engine import analyse_directory
from plugyard_analysis.sources import read_plugin_file

GOOD = {
    "name": "sample-plugin",
    "summary": "Turns Markdown notes into tidy HTML pages",
    "description": "Reads the notes it is given and renders them with a small template.",
    "authors": '["Ada Example <ada@example.org>"]',
    "license": "MIT",
}


def manifest(**fields: str | None) -> str:
    values = {**GOOD, **fields}
    lines = ["[plugin]", f'name = "{values["name"]}"', 'version = "1.0.0"', f'summary = "{values["summary"]}"']
    if values["description"] is not None:
        lines.append(f'description = """{values["description"]}"""')
    if values["authors"] is not None:
        lines.append(f'authors = {values["authors"]}')
    if values["license"] is not None:
        lines.append(f'license = "{values["license"]}"')
    lines += ['entry = "sample_plugin:Plugin"', 'host = ">=1.0"', "", "[permissions]", values.get("permissions") or ""]
    return "\n".join(lines) + "\n"


def analyse(tmp_path: Path, text: str, scan: ScanContext | None = None, files: dict[str, bytes] | None = None):
    root = tmp_path / "plugin"
    (root / "sample_plugin").mkdir(parents=True)
    (root / "plugin.toml").write_text(text)
    (root / "sample_plugin" / "__init__.py").write_text("class Plugin:\n    pass\n")
    for name, data in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return analyse_directory(root, scan=scan)


def meta(report) -> dict[str, list]:
    out: dict[str, list] = {}
    for finding in report.findings:
        if finding.rule.startswith("META-"):
            out.setdefault(finding.rule, []).append(finding)
    return out


def test_a_plain_honest_plugin_has_no_metadata_findings(tmp_path: Path) -> None:
    scan = ScanContext(known_plugins={"markdown-notes": "bob", "html-pages": "carol"}, publisher="ada")
    assert meta(analyse(tmp_path, manifest(), scan)) == {}


# --- META-TYPOSQUAT ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sample-plugn", "sampel-plugin", "sample_plugin2", "plugin-sample", "python-sample-plugin", "sarnple-plugin"])
def test_typosquat_of_another_publishers_plugin(tmp_path: Path, name: str) -> None:
    scan = ScanContext(known_plugins={"sample-plugin": "bob", "unrelated": "carol"}, publisher="mallory")
    (finding,) = meta(analyse(tmp_path, manifest(name=name), scan))["META-TYPOSQUAT"]
    assert finding.severity == "high" and finding.action == "quarantine"
    assert "'sample-plugin'" in finding.message and "bob" in finding.message and finding.path == "plugin.toml"


def test_typosquat_not_for_own_name_or_own_plugins(tmp_path: Path) -> None:
    own = ScanContext(known_plugins={"sample-plugin": "ada"}, publisher="ada")
    assert "META-TYPOSQUAT" not in meta(analyse(tmp_path / "a", manifest(), own))  # a new version of its own plugin
    sibling = ScanContext(known_plugins={"sample-plugin": "ada"}, publisher="ada")
    assert "META-TYPOSQUAT" not in meta(analyse(tmp_path / "b", manifest(name="sample-plugin2"), sibling))
    assert "META-TYPOSQUAT" not in meta(analyse(tmp_path / "c", manifest(), ScanContext()))  # offline: nothing known


# --- META-EMPTY-METADATA -------------------------------------------------------------------------


@pytest.mark.parametrize("summary", ["TODO", "test", "asdf", "sample-plugin", "Sample Plugin", "xxxxxxxx", "lorem ipsum dolor"])
def test_placeholder_summary_is_medium(tmp_path: Path, summary: str) -> None:
    (finding,) = meta(analyse(tmp_path, manifest(summary=summary)))["META-EMPTY-METADATA"]
    assert finding.severity == "medium" and finding.action == "warn"


def test_missing_description_authors_license(tmp_path: Path) -> None:
    (finding,) = meta(analyse(tmp_path / "a", manifest(description=None, authors=None, license=None)))["META-EMPTY-METADATA"]
    assert finding.severity == "low" and "description" in finding.message and "license" in finding.message
    assert "META-EMPTY-METADATA" in meta(analyse(tmp_path / "b", manifest(description="TODO", license=None)))
    assert "META-EMPTY-METADATA" not in meta(analyse(tmp_path / "c", manifest(license=None)))  # one gap alone


# --- META-DECEPTIVE ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, severity",
    [
        ({"name": "slack-official"}, "high"),
        ({"name": "verified-payments"}, "high"),
        ({"summary": "Verified by Plugyard: safe payments helper"}, "high"),
        ({"description": "This plugin is Plugyard-certified and reviewed by the Plugyard team."}, "high"),
        ({"summary": "The official Slack plugin for Plugyard"}, "medium"),
        ({"summary": "Official GitHub integration"}, "medium"),
        ({"description": "Developed by Google to sync your Drive files."}, "medium"),
        ({"description": "Endorsed by Microsoft. Sends Teams messages."}, "medium"),
        ({"description": "Sends Teams messages. This plugin is maintained by the Microsoft Teams team."}, "medium"),
    ],
)
def test_deceptive_claims(tmp_path: Path, fields: dict[str, str], severity: str) -> None:
    (finding,) = meta(analyse(tmp_path, manifest(**fields), ScanContext(publisher="mallory")))["META-DECEPTIVE"]
    assert finding.severity == severity


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "unofficial-slack"},
        {"summary": "An unofficial Slack client"},
        {"summary": "A wrapper around the official OpenAI Python library"},
        {"description": "Not affiliated with or endorsed by Google."},
        {"description": "Talks to the official Slack API with your bot token."},
        {"description": "Lists the images built by Docker on this machine and the files made by Microsoft Word."},
        {"description": "Uses verified TLS connections only."},
    ],
)
def test_honest_mentions_are_not_deceptive(tmp_path: Path, fields: dict[str, str]) -> None:
    assert "META-DECEPTIVE" not in meta(analyse(tmp_path, manifest(**fields), ScanContext(publisher="mallory")))


def test_organization_publishing_its_own_plugin(tmp_path: Path) -> None:
    fields = {"description": "Developed by Google to sync your Drive files."}
    assert "META-DECEPTIVE" not in meta(analyse(tmp_path, manifest(**fields), ScanContext(publisher="google-llc")))


# --- META-BUNDLED-BINARY -------------------------------------------------------------------------

ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
PE = b"MZ" + b"\x00" * 58 + struct.pack("<I", 64) + b"PE\x00\x00" + b"\x00" * 32
MACHO = b"\xcf\xfa\xed\xfe" + b"\x00" * 60
PYC = (3495).to_bytes(2, "little") + b"\r\n" + b"\x00" * 12 + b"\xe3" + b"\x00" * 40
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 56


@pytest.mark.parametrize(
    "path, data, expected",
    [
        ("lib/_core.so", ELF, ("an ELF binary", True)),
        ("bin/tool.exe", PE, ("a Windows PE binary", True)),
        ("lib/_core.dylib", MACHO, ("a Mach-O binary", True)),
        ("helpers.pyc", PYC, ("Python bytecode", False)),
        ("data/blob.dat", PYC, ("Python bytecode", False)),  # bytecode under another name
        ("data/library.bin", ELF, ("an ELF binary", True)),
        ("lib/libfoo.so.1", b"not really", ("a file named as compiled code (.so)", True)),
        ("icon.png", PNG, None),
        ("notes/MZ-notes.txt", b"MZ is where the notes start\n", None),
        ("data/words.txt", b"hello\n", None),
    ],
)
def test_bundled_code_kinds(path: str, data: bytes, expected) -> None:
    assert bundled_code(read_plugin_file(path, data)) == expected


def test_bundled_binary_severity_follows_native_permission(tmp_path: Path) -> None:
    files = {"sample_plugin/_speedups.so": ELF}
    (finding,) = meta(analyse(tmp_path / "a", manifest(), files=files))["META-BUNDLED-BINARY"]
    assert finding.severity == "high" and finding.action == "quarantine" and finding.path == "sample_plugin/_speedups.so"
    (finding,) = meta(analyse(tmp_path / "b", manifest(permissions="native = true"), files=files))["META-BUNDLED-BINARY"]
    assert finding.severity == "medium" and finding.action == "warn"


def test_bytecode_cache_of_a_shipped_source_is_medium_sourceless_bytecode_high(tmp_path: Path) -> None:
    cached = {"sample_plugin/__pycache__/__init__.cpython-311.pyc": PYC}
    (finding,) = meta(analyse(tmp_path / "a", manifest(), files=cached))["META-BUNDLED-BINARY"]
    assert finding.severity == "medium"
    sourceless = {"sample_plugin/loader.pyc": PYC}
    (finding,) = meta(analyse(tmp_path / "b", manifest(), files=sourceless))["META-BUNDLED-BINARY"]
    assert finding.severity == "high"


def test_data_files_are_not_bundled_binaries(tmp_path: Path) -> None:
    files = {"sample_plugin/icon.png": PNG, "sample_plugin/data.json.gz": b"\x1f\x8b\x08\x00" + b"\x00" * 20}
    assert "META-BUNDLED-BINARY" not in meta(analyse(tmp_path, manifest(), files=files))


def test_many_binaries_are_summarized(tmp_path: Path) -> None:
    files = {f"sample_plugin/lib{i}.so": ELF for i in range(25)}
    found = meta(analyse(tmp_path, manifest(permissions="native = true"), files=files))["META-BUNDLED-BINARY"]
    assert len(found) == 21 and any("5 more compiled files" in f.message for f in found)
