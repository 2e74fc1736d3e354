"""Reading `plugin.toml`: parse it, validate it as a `PluginManifest`, and say plainly what is wrong when it is not one."""

from __future__ import annotations

import datetime
import difflib
import json
import os
import re
import tomllib
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from plugyard_schemas.manifest import PluginManifest

MANIFEST_NAME = "plugin.toml"
MAX_MANIFEST_BYTES = 256 * 1024
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")

_TOML_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "a boolean"),
    (str, "a string"),
    (int, "an integer"),
    (float, "a float"),
    (list, "an array"),
    (dict, "a table"),
    (datetime.datetime, "a date-time"),
    (datetime.date, "a date"),
    (datetime.time, "a time"),
)
_EXPECTED = {
    "string_type": "a string",
    "bool_type": "true or false",
    "list_type": "an array",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "dict_type": "a table",
}


class ManifestError(ValueError):
    """A manifest that cannot be used; one line per problem, each naming the file and the field (`plugin.version`)."""

    def __init__(self, source: str, problems: Sequence[tuple[str, str]]) -> None:
        self.source = source
        self.problems: tuple[tuple[str, str], ...] = tuple((field, _one_line(message)) for field, message in problems)
        super().__init__("\n".join(f"{source}: {field}: {message}" if field else f"{source}: {message}" for field, message in self.problems))


def _one_line(message: str) -> str:
    return " ".join(line.strip() for line in message.splitlines() if line.strip())


def load_manifest(path: str | os.PathLike[str]) -> PluginManifest:
    """The manifest at `path`, which is a `plugin.toml` or a plugin directory holding one."""
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    source = str(path)
    try:
        if not path.is_file():
            raise ManifestError(source, [("", "no such file" if not path.exists() else "not a regular file")])
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise ManifestError(source, [("", f"larger than {MAX_MANIFEST_BYTES // 1024} KiB; a manifest is a short text")])
        data = path.read_bytes()
    except OSError as error:
        raise ManifestError(source, [("", f"cannot be read: {error.strerror or error}")]) from None
    return parse_manifest(data, source)


def parse_manifest(data: bytes | str, source: str = MANIFEST_NAME) -> PluginManifest:
    """Validate manifest text (for one read from an archive, say); `source` names it in errors."""
    if isinstance(data, bytes):
        if len(data) > MAX_MANIFEST_BYTES:
            raise ManifestError(source, [("", f"larger than {MAX_MANIFEST_BYTES // 1024} KiB; a manifest is a short text")])
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ManifestError(source, [("", f"not UTF-8 text (byte {error.start})")]) from None
    try:
        document = tomllib.loads(data)
    except tomllib.TOMLDecodeError as error:
        raise ManifestError(source, [("", f"not valid TOML: {error}")]) from None
    return validate_manifest(document, source)


def validate_manifest(document: Any, source: str = MANIFEST_NAME) -> PluginManifest:
    """Validate a manifest already parsed (from TOML, or JSON off the bus); `source` names it in errors."""
    try:
        return PluginManifest.model_validate(document)
    except ValidationError as error:
        raise ManifestError(source, [(_field(problem["loc"]), _message(problem)) for problem in error.errors()]) from None


def _field(location: tuple[int | str, ...]) -> str:
    """A dotted path as TOML writes it: `plugin.requires[0]`; a key that is not bare is quoted, so the path stays one line."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        key = part if _BARE_KEY.fullmatch(part) else json.dumps(part)
        text += f".{key}" if text else key
    return text


def _message(problem: Any) -> str:
    kind, value = problem["type"], problem.get("input")
    if kind == "missing":
        return "required, but missing"
    if kind == "extra_forbidden":
        return _unknown_key(problem["loc"])
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {_describe(value)}"
    if kind == "literal_error":
        return f"{problem['msg'].replace('Input should be', 'expected')}, got {_describe(value)}"
    return problem["msg"].removeprefix("Value error, ")


def _unknown_key(location: tuple[int | str, ...]) -> str:
    key = str(location[-1])
    model = _model_at(location[:-1])
    if model is None:
        return f"unknown key {key!r}"
    allowed = list(model.model_fields)
    guess = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {guess[0]!r}?)" if guess else ""
    table = _field(location[:-1])
    place = f"in [{table}]" if table else "at the top level"
    return f"unknown key {key!r} {place}{hint}; allowed: {', '.join(allowed)}"


def _model_at(location: tuple[int | str, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = PluginManifest
    for part in location:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if model else None
        if field is None:
            return None
        model = _model_in(field.annotation)
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None


def _describe(value: Any) -> str:
    kind = next((name for cls, name in _TOML_KINDS if isinstance(value, cls)), type(value).__name__)
    shown = repr(value)
    return f"{kind} {shown if len(shown) <= 60 else shown[:57] + '...'}"
