"""`plugin.toml`: what a plugin says about itself (`[plugin]`) and what it may do (`[permissions]`).

`PluginManifest.model_validate(tomllib.loads(text))` validates a manifest as parsed. Values come out
normalized: the name PEP 503-style, the version PEP 440-style, specifiers in packaging's canonical form,
hosts lower-case, paths without trailing slashes. Every rule raises a message that says what was wrong
with the value, and pydantic's error location names the field.
"""

from __future__ import annotations

import ipaddress
import keyword
import posixpath
import re
import sys
from typing import Annotated, Literal
from urllib.parse import urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StringConstraints, ValidationInfo, field_validator

MAX_NAME_LENGTH = 64

_PEP508_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")
_PLUGIN_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
_SEPARATORS = re.compile(r"[-_.]+")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_AUTHOR = re.compile(r"[^<>\n]*[^<>\s]( <[^<>@\s]+@[^<>@\s]+>)?")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_LICENSE_ID = re.compile(r"(DocumentRef-[A-Za-z0-9.-]+:)?[A-Za-z0-9][A-Za-z0-9.-]*\+?")
_LICENSE_TOKENS = re.compile(r"\(|\)|[^\s()]+")


def normalize_name(name: str) -> str:
    """PEP 503: lower case, every run of `-`, `_` and `.` becomes one `-`."""
    return _SEPARATORS.sub("-", name).lower()


def plugin_name(value: str) -> str:
    """A plugin name, checked and normalized; `ValueError` says what is wrong with it."""
    if not _PEP508_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a package name: use letters, digits, '-', '_' and '.', starting and ending with a letter or digit")
    normalized = normalize_name(value)
    if not _PLUGIN_NAME.fullmatch(normalized):
        raise ValueError(f"{value!r} must start with a letter")
    if not 2 <= len(normalized) <= MAX_NAME_LENGTH:
        raise ValueError(f"{value!r} must be 2 to {MAX_NAME_LENGTH} characters long")
    return normalized


def _version(value: str) -> str:
    try:
        version = Version(value)
    except InvalidVersion:
        raise ValueError(f"{value!r} is not a PEP 440 version (for example '1.0.2' or '2.0.0rc1')") from None
    if version.local is not None:
        raise ValueError(f"{value!r} has a local version label ('+{version.local}'), which a published plugin may not carry")
    return str(version)


def _single_line(value: str) -> str:
    stripped = value.strip()
    if "\n" in stripped or "\r" in stripped:
        raise ValueError("must be a single line")
    if not stripped:
        raise ValueError("must not be empty")
    return stripped


def _author(value: str) -> str:
    stripped = value.strip()
    if not _AUTHOR.fullmatch(stripped):
        raise ValueError(f"{value!r} is not 'Name' or 'Name <email@example.org>'")
    return stripped


def _license(value: str) -> str:
    """An SPDX license expression in form: ids (or `LicenseRef-…`) joined by AND/OR, `WITH` exceptions, parentheses.

    The ids are checked for shape, not looked up in the SPDX list, which changes faster than we release.
    """
    tokens = _LICENSE_TOKENS.findall(value)
    position = 0

    def fail(reason: str) -> ValueError:
        return ValueError(f"{value!r} is not an SPDX license expression: {reason} (for example 'MIT', 'Apache-2.0 OR MIT', 'LicenseRef-Acme-EULA')")

    def take() -> str | None:
        nonlocal position
        token = tokens[position] if position < len(tokens) else None
        position += 1
        return token

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def license_id(token: str | None) -> None:
        if token is None or token in ("AND", "OR", "WITH", "(", ")") or not _LICENSE_ID.fullmatch(token):
            raise fail(f"expected a license id, found {token!r}" if token is not None else "expected a license id at the end")

    def term() -> None:
        token = take()
        if token == "(":
            expression()
            if take() != ")":
                raise fail("unbalanced parentheses")
            return
        license_id(token)
        if peek() == "WITH":
            take()
            license_id(take())

    def expression() -> None:
        term()
        while peek() in ("AND", "OR"):
            take()
            term()

    if not tokens:
        raise fail("it is empty")
    expression()
    if position < len(tokens):
        raise fail(f"expected AND, OR or WITH before {tokens[position]!r}")
    return " ".join(value.split())


def _homepage(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value.strip()


def _entry(value: str) -> str:
    module, colon, obj = value.strip().partition(":")
    if not colon or not module or not obj:
        raise ValueError(f"{value!r} is not 'module.path:Object'")
    for part in (*module.split("."), *obj.split(".")):
        if not _IDENTIFIER.fullmatch(part) or keyword.iskeyword(part):
            raise ValueError(f"{value!r} is not 'module.path:Object': {part!r} is not a Python identifier")
    top = module.split(".")[0]
    if top in sys.stdlib_module_names:
        raise ValueError(f"{value!r}: the module {top!r} would shadow the standard library's; give the package its own name")
    return value.strip()


def _host_range(value: str) -> str:
    try:
        specifiers = SpecifierSet(value)
    except InvalidSpecifier:
        raise ValueError(f"{value!r} is not a version specifier (for example '>=1.0,<2')") from None
    if not len(specifiers):
        raise ValueError("is empty: give the host API versions the plugin works with, for example '>=1.0,<2'")
    return str(specifiers)


def _plugin_requirement(value: str) -> str:
    try:
        requirement = Requirement(value)
    except InvalidRequirement as error:
        raise ValueError(f"{value!r} is not a requirement like 'other-plugin>=1.0': {_first_line(error)}") from None
    if requirement.url:
        raise ValueError(f"{value!r}: a plugin requirement names a plugin in the registry, not a URL")
    if requirement.extras:
        raise ValueError(f"{value!r}: plugins have no extras")
    if requirement.marker is not None:
        raise ValueError(f"{value!r}: environment markers do not apply to plugins")
    name = plugin_name(requirement.name)
    return f"{name}{requirement.specifier}"


def _first_line(error: Exception) -> str:
    """packaging's requirement errors draw a caret under the spot on further lines; the first says what is wrong."""
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _pypi_requirement(value: str) -> str:
    try:
        requirement = Requirement(value)
    except InvalidRequirement as error:
        raise ValueError(f"{value!r} is not a PEP 508 requirement: {_first_line(error)}") from None
    if requirement.url:
        raise ValueError(f"{value!r}: direct URL references are not allowed; name a package on PyPI")
    return str(requirement)


def _network_target(value: str) -> str:
    """`*`, `host` or `host:port`; a host is a DNS name, an IPv4 address or a bracketed IPv6 address."""
    if value == "*":
        return value
    if "*" in value:
        raise ValueError(f"{value!r}: '*' stands alone for every host; it cannot be part of a host name or take a port")
    if value.startswith("["):
        address, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"{value!r} is not '[ipv6]' or '[ipv6]:port'")
        host, port = _ipv6(value, address), rest[1:] if rest else None
    else:
        host, colon, port_text = value.partition(":")
        if colon and ":" in port_text:
            raise ValueError(f"{value!r}: write an IPv6 address in brackets, as '[::1]:443'")
        host, port = _host_name(value, host), port_text if colon else None
    if port is None:
        return host
    if not port.isascii() or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{value!r}: the port must be a number from 1 to 65535")
    return f"{host}:{int(port)}"


def _ipv6(value: str, address: str) -> str:
    try:
        return f"[{ipaddress.IPv6Address(address).compressed}]"
    except ValueError:
        raise ValueError(f"{value!r}: {address!r} is not an IPv6 address") from None


def _host_name(value: str, host: str) -> str:
    lowered = host.lower()
    try:
        return str(ipaddress.IPv4Address(lowered))
    except ValueError:
        pass
    labels = lowered.split(".")
    if not lowered or len(lowered) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        raise ValueError(f"{value!r}: {host!r} is not a host name or IP address")
    return lowered


def _absolute_path(value: str) -> str:
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    if not value.startswith("/"):
        raise ValueError(f"{value!r} is not an absolute path")
    if ".." in value.split("/"):
        raise ValueError(f"{value!r} contains '..'; name the directory itself")
    return posixpath.normpath(value).replace("//", "/")


def _env_name(value: str) -> str:
    if not _ENV_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not an environment variable name (letters, digits and '_', not starting with a digit)")
    return value


def _unique(values: list[str], *, ignore_case: bool = True) -> list[str]:
    seen: set[str] = set()
    for value in values:
        key = value.casefold() if ignore_case else value
        if key in seen:
            raise ValueError(f"{value!r} is listed twice")
        seen.add(key)
    return values


PluginName = Annotated[str, AfterValidator(plugin_name)]
Line = Annotated[str, StringConstraints(max_length=200), AfterValidator(_single_line)]
Tag = Annotated[str, StringConstraints(max_length=50), AfterValidator(_single_line)]


class _Table(BaseModel):
    """A TOML table: an unknown key is an error, and a validated value does not change afterwards."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PluginInfo(_Table):
    """The `[plugin]` table."""

    name: PluginName = Field(description="The plugin's name, normalized PEP 503-style (lower case, runs of '-_.' become '-')")
    version: Annotated[str, AfterValidator(_version)] = Field(description="A PEP 440 version, normalized; no local label")
    summary: Line = Field(description="One line saying what the plugin does")
    description: str = Field(default="", max_length=50_000, description="Longer text (Markdown)")
    authors: list[Annotated[str, StringConstraints(max_length=200), AfterValidator(_author)]] = Field(
        default_factory=list, max_length=50, description="'Name' or 'Name <email>'"
    )
    license: Annotated[str, StringConstraints(max_length=200), AfterValidator(_license)] | None = Field(
        default=None, description="An SPDX license expression, for example 'MIT' or 'Apache-2.0 OR MIT'; 'LicenseRef-…' for others"
    )
    homepage: Annotated[str, StringConstraints(max_length=2000), AfterValidator(_homepage)] | None = Field(default=None, description="An http(s) URL")
    keywords: list[Tag] = Field(default_factory=list, max_length=20, description="Search terms")
    categories: list[Tag] = Field(default_factory=list, max_length=10, description="Catalogue categories")
    entry: Annotated[str, AfterValidator(_entry)] = Field(description="'module.path:Object': the object the loader instantiates")
    host: Annotated[str, AfterValidator(_host_range)] = Field(description="The Plugyard host API versions the plugin works with (a PEP 440 specifier; the API starts at 1.0)")
    requires: list[Annotated[str, AfterValidator(_plugin_requirement)]] = Field(
        default_factory=list, max_length=100, description="Other plugins, as 'name<specifier>' (PEP 508 without URLs, extras or markers)"
    )
    dependencies: list[Annotated[str, AfterValidator(_pypi_requirement)]] = Field(
        default_factory=list, max_length=200, description="PyPI requirements (PEP 508, no direct URLs), installed per plugin by the loader"
    )

    @field_validator("keywords", "categories")
    @classmethod
    def _no_repeated_tags(cls, values: list[str]) -> list[str]:
        return _unique(values)

    @field_validator("requires")
    @classmethod
    def _no_self_or_repeated_requirement(cls, values: list[str], info: ValidationInfo) -> list[str]:
        names = [Requirement(value).name for value in values]
        own = info.data.get("name")
        if own is not None and own in names:
            raise ValueError(f"the plugin {own!r} cannot require itself")
        _unique(names)
        return values

    @property
    def entry_module(self) -> str:
        return self.entry.partition(":")[0]


class FilesystemGrant(_Table):
    """One `[[permissions.filesystem]]` entry: a path the plugin may read, or read and write."""

    path: Annotated[str, StringConstraints(max_length=4096), AfterValidator(_absolute_path)] = Field(description="An absolute path")
    mode: Literal["read", "write"] = Field(description="'read', or 'write' (which includes reading)")


class Permissions(_Table):
    """The `[permissions]` table: everything a plugin may do beyond computing on its inputs."""

    network: list[Annotated[str, StringConstraints(max_length=300), AfterValidator(_network_target)]] = Field(
        default_factory=list, max_length=100, description="'host' or 'host:port' the plugin may connect to; '*' alone for any host"
    )
    filesystem: list[FilesystemGrant] = Field(default_factory=list, max_length=100, description="Paths outside its own files")
    subprocess: StrictBool = Field(default=False, description="May start other programs")
    env: list[Annotated[str, StringConstraints(max_length=128), AfterValidator(_env_name)]] = Field(
        default_factory=list, max_length=100, description="Environment variables passed through to the plugin"
    )
    native: StrictBool = Field(default=False, description="Uses native code: ctypes, cffi or C extensions")

    @field_validator("network")
    @classmethod
    def _star_alone(cls, targets: list[str]) -> list[str]:
        if "*" in targets and len(targets) > 1:
            others = ", ".join(repr(target) for target in targets if target != "*")
            raise ValueError(f"'*' already allows every host; list it alone, without {others}")
        return _unique(targets)

    @field_validator("filesystem")
    @classmethod
    def _one_grant_per_path(cls, grants: list[FilesystemGrant]) -> list[FilesystemGrant]:
        _unique([grant.path for grant in grants], ignore_case=False)
        return grants

    @field_validator("env")
    @classmethod
    def _no_repeated_env(cls, names: list[str]) -> list[str]:
        return _unique(names, ignore_case=False)


class PluginManifest(_Table):
    """A whole `plugin.toml`, validated from the dict `tomllib` parses it into."""

    plugin: PluginInfo
    permissions: Permissions = Field(default_factory=Permissions)
