"""The example plugins and a fresh scaffold: each validates, packs reproducibly, and passes its own tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from plugyard_artifacts import check_archive, load_manifest, module_name, pack, read_member, scaffold

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plugins"
EXAMPLE_DIRS = sorted(path.parent for path in EXAMPLES.glob("*/plugin.toml"))


def run_plugin_tests(directory: Path) -> subprocess.CompletedProcess[str]:
    """The plugin's own test suite, in a fresh interpreter that writes no caches into the plugin directory."""
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(directory), str(directory / "tests")],
        capture_output=True,
        text=True,
        cwd=directory,
        env=environment,
        timeout=120,
    )


def test_there_are_three_examples():
    assert [path.name for path in EXAMPLE_DIRS] == ["notes", "summarizer", "textkit"]


@pytest.mark.parametrize("directory", EXAMPLE_DIRS, ids=lambda path: path.name)
def test_example_loads_packs_and_passes_its_tests(directory: Path, tmp_path: Path):
    manifest = load_manifest(directory)
    assert manifest.plugin.name.startswith("plugyard-")
    assert manifest.plugin.license and manifest.plugin.keywords and manifest.plugin.categories and manifest.plugin.description
    first = pack(directory, tmp_path / "first.tar.gz")
    second = pack(directory, tmp_path / "second.tar.gz")
    assert first.cid == second.cid and first.cid.startswith("bafk")
    assert read_member(first.path, "plugin.toml") == (directory / "plugin.toml").read_bytes()
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in check_archive(first.path))
    done = run_plugin_tests(directory)
    assert done.returncode == 0, done.stdout + done.stderr


def test_examples_require_each_other_and_every_requirement_is_met():
    manifests = {manifest.plugin.name: manifest for manifest in map(load_manifest, EXAMPLE_DIRS)}
    edges = set()
    for name, manifest in manifests.items():
        for text in manifest.plugin.requires:
            requirement = Requirement(text)
            assert requirement.name in manifests, f"{name} requires {requirement.name}, which is not an example"
            assert requirement.specifier.contains(manifests[requirement.name].plugin.version), f"{name}: {text} is not met"
            edges.add((name, requirement.name))
    assert ("plugyard-summarizer", "plugyard-textkit") in edges
    assert ("plugyard-notes", "plugyard-summarizer") in edges
    assert manifests["plugyard-notes"].permissions.env == ["NOTES_LANG"]


def test_scaffold_loads_packs_and_passes_its_tests(tmp_path: Path):
    directory = tmp_path / "My_Plugin"
    written = scaffold(directory, "My_Plugin")
    assert sorted(path.relative_to(directory).as_posix() for path in written) == ["my_plugin/__init__.py", "plugin.toml", "tests/test_my_plugin.py"]
    manifest = load_manifest(directory)
    assert (manifest.plugin.name, manifest.plugin.version, manifest.plugin.entry) == ("my-plugin", "0.1.0", "my_plugin:Plugin")
    assert manifest.plugin.host == "<2,>=1.0"
    assert manifest.permissions.model_dump() == {"network": [], "filesystem": [], "subprocess": False, "env": [], "native": False}
    result = pack(directory, tmp_path / "out.tar.gz")
    assert result.name == "my-plugin" and result.version == "0.1.0"
    done = run_plugin_tests(directory)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


def test_scaffolded_plugin_says_hello_through_the_sdk(tmp_path: Path, monkeypatch):
    from plugyard_sdk import actions_of, invoke

    scaffold(tmp_path / "greeter", "greeter-plugin")
    monkeypatch.syspath_prepend(str(tmp_path / "greeter"))
    import greeter_plugin

    assert list(actions_of(greeter_plugin.Plugin)) == ["hello"]
    assert "Grace" in invoke(greeter_plugin.Plugin(), "hello", {"name": "Grace"})["greeting"]


def test_scaffold_refuses_an_occupied_directory_and_bad_names(tmp_path: Path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        scaffold(tmp_path / "taken", "fine-name")
    assert sorted(path.name for path in (tmp_path / "taken").iterdir()) == ["notes.txt"]
    with pytest.raises(ValueError, match="start with a letter"):
        scaffold(tmp_path / "new", "1st-plugin")
    with pytest.raises(ValueError, match="Python already uses"):
        scaffold(tmp_path / "new", "json")
    with pytest.raises(ValueError, match="Python already uses"):
        module_name("Class")
    assert not (tmp_path / "new").exists()
