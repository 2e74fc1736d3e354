"""`plugyard init`: a new plugin directory that validates, packs, passes its own test and runs in a loader as it is."""

from __future__ import annotations

import keyword
import os
import sys
from pathlib import Path

from plugyard_artifacts.manifest import MANIFEST_NAME
from plugyard_schemas.manifest import plugin_name

_MANIFEST = '''\
[plugin]
name = "{name}"
version = "0.1.0"
summary = "Greets whoever it is given."
description = """
{name} is a Plugyard plugin. Its one action, `hello`, takes a name and returns a greeting.
"""
authors = []
keywords = ["example"]
categories = []
entry = "{module}:Plugin"
host = ">=1.0,<2"
requires = []
dependencies = []

# Everything beyond computing on its inputs must be declared here; the loader enforces it.
[permissions]
# network = ["api.example.com:443"]
# filesystem = [{{ path = "/var/lib/{name}", mode = "write" }}]
# subprocess = true
# env = ["{env}_TOKEN"]
'''

_PACKAGE = '''\
"""{name}: a Plugyard plugin."""

from plugyard_sdk import Plugin as PluginBase
from plugyard_sdk import PluginError, action, get_logger

log = get_logger(__name__)


class Plugin(PluginBase):
    @action
    def hello(self, name: str) -> dict:
        """Greet `name`."""
        if not name.strip():
            raise PluginError("name is empty", code="invalid_name")
        log.info("greeting %s", name)
        return {{"greeting": f"Hello, {{name}}!"}}
'''

_TEST = '''\
"""{name}'s own tests: run `pytest` in the plugin directory."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pytest  # noqa: E402
from plugyard_sdk import PluginError, actions_of, invoke  # noqa: E402

from {module} import Plugin  # noqa: E402


def test_hello_greets_by_name():
    assert invoke(Plugin(), "hello", {{"name": "Ada"}}) == {{"greeting": "Hello, Ada!"}}


def test_actions_are_what_the_host_will_offer():
    assert set(actions_of(Plugin)) == {{"hello"}}


def test_an_empty_name_is_a_typed_error():
    with pytest.raises(PluginError) as refused:
        invoke(Plugin(), "hello", {{"name": " "}})
    assert refused.value.code == "invalid_name"
'''


def module_name(name: str) -> str:
    """The Python package a plugin of this name is scaffolded with: the normalized name with `_` for `-`."""
    module = plugin_name(name).replace("-", "_")
    if keyword.iskeyword(module) or module in sys.stdlib_module_names:
        raise ValueError(f"{name!r} would make a package named {module!r}, which Python already uses; choose another name")
    return module


def scaffold(directory: str | os.PathLike[str], name: str) -> list[Path]:
    """Write a new plugin called `name` into `directory` (absent or empty); the files written."""
    normalized = plugin_name(name)
    module = module_name(normalized)
    root = Path(directory)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise FileExistsError(f"{root}: exists and is not an empty directory")
    values = {"name": normalized, "module": module, "env": module.upper()}
    files = {
        root / MANIFEST_NAME: _MANIFEST.format(**values),
        root / module / "__init__.py": _PACKAGE.format(**values),
        root / "tests" / f"test_{module}.py": _TEST.format(**values),
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(files)
