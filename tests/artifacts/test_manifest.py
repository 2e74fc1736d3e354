"""plugin.toml: valid manifests come out normalized; every broken one is refused with the file, the field and the reason."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugyard_artifacts import ManifestError, load_manifest, parse_manifest, validate_manifest
from plugyard_schemas import PluginManifest, normalize_name

PLUGIN_LINES = {
    "name": 'name = "Plugyard_Text.Kit"',
    "version": 'version = "1.0.0-RC1"',
    "summary": 'summary = "Text helpers"',
    "license": 'license = "Apache-2.0 OR MIT"',
    "entry": 'entry = "plugyard_text_kit:Plugin"',
    "host": 'host = ">=1.0, <2"',
    "requires": 'requires = ["Other_Plugin >= 0.2"]',
}


def manifest_text(permissions: str = "", extra: str = "", **lines: str | None) -> str:
    """A valid manifest with some `[plugin]` lines replaced (or dropped, with None) and text added."""
    chosen = {**PLUGIN_LINES, **lines}
    body = "\n".join(line for line in chosen.values() if line is not None)
    return f"[plugin]\n{body}\n{extra}\n[permissions]\n{permissions}\n"


def problems(text: str | bytes) -> str:
    with pytest.raises(ManifestError) as caught:
        parse_manifest(text, "demo/plugin.toml")
    return str(caught.value)


def test_a_valid_manifest_is_normalized():
    manifest = parse_manifest(manifest_text(permissions='network = ["API.Example.com:0443", "[0:0::1]:8080"]\nenv = ["NOTES_LANG"]'))
    plugin = manifest.plugin
    assert plugin.name == "plugyard-text-kit"
    assert plugin.version == "1.0.0rc1"
    assert plugin.host == "<2,>=1.0"
    assert plugin.requires == ["other-plugin>=0.2"]
    assert plugin.entry_module == "plugyard_text_kit"
    assert manifest.permissions.network == ["api.example.com:443", "[::1]:8080"]
    assert manifest.permissions.subprocess is False and manifest.permissions.native is False
    assert manifest.permissions.filesystem == []


def test_normalized_values_validate_again_unchanged():
    manifest = parse_manifest(
        manifest_text(
            extra='authors = ["Ada <ada@example.org>"]\ndependencies = ["Requests[socks] >= 2 ; python_version >= \'3.11\'"]',
            permissions='network = ["[0:0::1]:8080", "Example.org"]\nfilesystem = [{ path = "/srv//data/", mode = "write" }]',
        )
    )
    assert manifest.permissions.filesystem[0].path == "/srv/data"
    dumped = manifest.model_dump(mode="json")
    assert PluginManifest.model_validate(dumped) == manifest
    assert PluginManifest.model_validate(dumped).model_dump(mode="json") == dumped


def test_permissions_table_is_optional_and_star_alone_is_allowed():
    text = manifest_text().replace("[permissions]\n", "")
    assert parse_manifest(text).permissions.network == []
    assert parse_manifest(manifest_text(permissions='network = ["*"]')).permissions.network == ["*"]


BROKEN = [
    pytest.param({"name": None}, "", "plugin.name", "required", id="missing-name"),
    pytest.param({"name": 'name = "9lives"'}, "", "plugin.name", "start with a letter", id="name-starts-with-digit"),
    pytest.param({"name": 'name = "bad name!"'}, "", "plugin.name", "not a package name", id="name-with-space"),
    pytest.param({"version": 'version = "one point oh"'}, "", "plugin.version", "PEP 440", id="bad-version"),
    pytest.param({"version": "version = 1.0"}, "", "plugin.version", "expected a string, got a float 1.0", id="version-not-string"),
    pytest.param({"version": 'version = "1.0+local"'}, "", "plugin.version", "local version label", id="local-version"),
    pytest.param({"summary": 'summary = ""'}, "", "plugin.summary", "must not be empty", id="empty-summary"),
    pytest.param({"entry": 'entry = "no_colon"'}, "", "plugin.entry", "module.path:Object", id="entry-without-colon"),
    pytest.param({"entry": 'entry = "pkg:1Bad"'}, "", "plugin.entry", "not a Python identifier", id="entry-bad-identifier"),
    pytest.param({"entry": 'entry = "json:Plugin"'}, "", "plugin.entry", "standard library", id="entry-shadows-stdlib"),
    pytest.param({"host": 'host = "1.0"'}, "", "plugin.host", "not a version specifier", id="host-not-specifier"),
    pytest.param({"host": 'host = ""'}, "", "plugin.host", "empty", id="host-empty"),
    pytest.param({"host": None}, "", "plugin.host", "required", id="host-missing"),
    pytest.param({"requires": 'requires = ["other @ https://example.org/x.tar.gz"]'}, "", "plugin.requires[0]", "not a URL", id="requires-url"),
    pytest.param({"requires": 'requires = ["not a requirement!"]'}, "", "plugin.requires[0]", "not a requirement", id="requires-garbage"),
    pytest.param({"requires": 'requires = ["other[extra]>=1"]'}, "", "plugin.requires[0]", "no extras", id="requires-extras"),
    pytest.param({"requires": "requires = [\"other; os_name == 'nt'\"]"}, "", "plugin.requires[0]", "markers", id="requires-marker"),
    pytest.param({"requires": 'requires = ["plugyard.text_kit>=0.1"]'}, "", "plugin.requires", "cannot require itself", id="requires-self"),
    pytest.param({"requires": 'requires = ["other>=1", "Other<3"]'}, "", "plugin.requires", "listed twice", id="requires-twice"),
    pytest.param({"requires": 'requires = "other"'}, "", "plugin.requires", "expected an array, got a string 'other'", id="requires-not-array"),
    pytest.param({"license": 'license = "MIT License"'}, "", "plugin.license", "SPDX", id="license-prose"),
    pytest.param({"license": 'license = "(MIT OR Apache-2.0"'}, "", "plugin.license", "parentheses", id="license-unbalanced"),
    pytest.param({}, 'homepage = "ftp://example.org"', "plugin.homepage", "http(s) URL", id="homepage-ftp"),
    pytest.param({}, 'authors = ["<nobody>"]', "plugin.authors[0]", "Name <email@example.org>", id="author-format"),
    pytest.param({}, 'keywords = ["text", "Text"]', "plugin.keywords", "listed twice", id="keyword-twice"),
    pytest.param({}, 'dependencies = ["requests @ https://example.org/r.whl"]', "plugin.dependencies[0]", "direct URL", id="dependency-url"),
    pytest.param({}, 'verison = "1.0"', "plugin.verison", "did you mean 'version'", id="unknown-key"),
]


@pytest.mark.parametrize(("lines", "extra", "field", "reason"), BROKEN)
def test_broken_plugin_table_names_field_and_reason(lines, extra, field, reason):
    message = problems(manifest_text(extra=extra, **lines))
    assert f"demo/plugin.toml: {field}: " in message
    assert reason in message
    assert "pydantic" not in message and "https://errors" not in message


PERMISSIONS = [
    pytest.param('network = ["*", "api.example.com"]', "permissions.network", "list it alone", id="star-mixed-with-hosts"),
    pytest.param('network = ["*.example.com"]', "permissions.network[0]", "'*' stands alone", id="wildcard-subdomain"),
    pytest.param('network = ["*:443"]', "permissions.network[0]", "'*' stands alone", id="star-with-port"),
    pytest.param('network = ["api.example.com:70000"]', "permissions.network[0]", "1 to 65535", id="port-too-high"),
    pytest.param('network = ["api.example.com:0"]', "permissions.network[0]", "1 to 65535", id="port-zero"),
    pytest.param('network = ["api.example.com:https"]', "permissions.network[0]", "1 to 65535", id="port-not-number"),
    pytest.param('network = ["bad_host!"]', "permissions.network[0]", "not a host name", id="bad-host"),
    pytest.param('network = ["::1"]', "permissions.network[0]", "brackets", id="bare-ipv6"),
    pytest.param('network = ["a.example", "A.example"]', "permissions.network", "listed twice", id="host-twice"),
    pytest.param('filesystem = [{ path = "data", mode = "read" }]', "permissions.filesystem[0].path", "not an absolute path", id="relative-path"),
    pytest.param('filesystem = [{ path = "/srv/../etc", mode = "read" }]', "permissions.filesystem[0].path", "'..'", id="dotdot-path"),
    pytest.param('filesystem = [{ path = "/srv", mode = "rw" }]', "permissions.filesystem[0].mode", "expected 'read' or 'write', got a string 'rw'", id="bad-mode"),
    pytest.param('filesystem = [{ path = "/srv", mode = "read", recursive = true }]', "permissions.filesystem[0].recursive", "allowed: path, mode", id="grant-unknown-key"),
    pytest.param('filesystem = ["/srv"]', "permissions.filesystem[0]", "expected a table, got a string '/srv'", id="grant-not-table"),
    pytest.param('subprocess = "yes"', "permissions.subprocess", "expected true or false, got a string 'yes'", id="subprocess-string"),
    pytest.param("native = 1", "permissions.native", "expected true or false, got an integer 1", id="native-integer"),
    pytest.param('env = ["1BAD"]', "permissions.env[0]", "not an environment variable name", id="bad-env-name"),
    pytest.param("env = [3]", "permissions.env[0]", "expected a string, got an integer 3", id="env-not-string"),
    pytest.param("sockets = true", "permissions.sockets", "unknown key 'sockets' in [permissions]", id="unknown-permission"),
]


@pytest.mark.parametrize(("permissions", "field", "reason"), PERMISSIONS)
def test_broken_permissions_name_field_and_reason(permissions, field, reason):
    message = problems(manifest_text(permissions=permissions))
    assert f"demo/plugin.toml: {field}: " in message
    assert reason in message


def test_unknown_table_and_wrong_table_type():
    assert "demo/plugin.toml: permission: unknown key 'permission' at the top level (did you mean 'permissions'?)" in problems(
        manifest_text().replace("[permissions]", "[permission]")
    )
    assert "demo/plugin.toml: plugin: expected a table, got a string 'x'" in problems('plugin = "x"\n')
    assert "demo/plugin.toml: plugin: required, but missing" in problems("[permissions]\n")


def test_every_problem_gets_its_own_line():
    message = problems(manifest_text(permissions='subprocess = "yes"', version='version = "x"', entry=None))
    lines = message.splitlines()
    assert len(lines) == 3
    assert all(line.startswith("demo/plugin.toml: ") for line in lines)
    assert {line.split(": ")[1] for line in lines} == {"plugin.version", "plugin.entry", "permissions.subprocess"}


def test_not_toml_and_not_utf8():
    assert re.search(r"demo/plugin\.toml: not valid TOML: .*line 1", problems("[plugin\nname = 1"))
    assert "demo/plugin.toml: not UTF-8 text" in problems(b"[plugin]\nname = \"\xff\"\n")


def test_load_manifest_reads_a_file_or_a_directory(tmp_path: Path):
    (tmp_path / "plugin.toml").write_text(manifest_text())
    assert load_manifest(tmp_path).plugin.name == "plugyard-text-kit"
    assert load_manifest(tmp_path / "plugin.toml").plugin.version == "1.0.0rc1"


def test_load_manifest_names_a_missing_or_odd_file(tmp_path: Path):
    with pytest.raises(ManifestError, match=rf"^{re.escape(str(tmp_path / 'plugin.toml'))}: no such file$"):
        load_manifest(tmp_path)
    with pytest.raises(ManifestError, match="no such file"):
        load_manifest(tmp_path / "absent" / "plugin.toml")
    (tmp_path / "big.toml").write_bytes(b"#" * (300 * 1024))
    with pytest.raises(ManifestError, match="big.toml: larger than 256 KiB"):
        load_manifest(tmp_path / "big.toml")


def test_the_model_validates_the_parsed_dict_directly():
    import tomllib

    manifest = PluginManifest.model_validate(tomllib.loads(manifest_text()))
    assert manifest.plugin.name == "plugyard-text-kit"
    with pytest.raises(Exception):
        manifest.plugin.name = "other"  # frozen: a validated manifest cannot drift from what was checked


@given(st.from_regex(r"[A-Za-z][A-Za-z0-9._-]{0,30}[A-Za-z0-9]", fullmatch=True))
def test_normalizing_a_name_is_idempotent_and_lower_case(name: str):
    normalized = normalize_name(name)
    assert normalize_name(normalized) == normalized
    assert normalized == normalized.lower() and "_" not in normalized and "." not in normalized and "--" not in normalized


TOML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["plugin", "permissions", "other"]),
        st.dictionaries(st.sampled_from([*PLUGIN_LINES, "network", "env", "filesystem", "subprocess", "x"]), TOML_VALUES, max_size=6),
        max_size=3,
    )
)
def test_any_document_is_a_manifest_or_a_manifest_error(document: dict):
    try:
        validate_manifest(document, "any.toml")
    except ManifestError as error:
        assert error.problems
        assert all(line.startswith("any.toml: ") and not line.endswith(": ") for line in str(error).splitlines())
