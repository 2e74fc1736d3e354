"""Discovery sources, configured in `<data-dir>/registry/sources.toml` as `[[source]]` tables and read at start:

    [[source]]
    kind = "directory"                 # each immediate sub-folder with a plugin.toml is a plugin
    path = "plugins"                   # relative paths are relative to the data directory
    key = "dev.key"                    # plain key file, or a keystore unlocked with PLUGYARD_KEY_PASSPHRASE

    [[source]]
    kind = "export"                    # another registry's `plugyard registry export DIR`
    url = "http://127.0.0.1:8000/"     # or file:///path/to/DIR
    interval = 60                      # seconds between polls

A broken file or a broken source is one log line naming the problem; that source is skipped and the registry
runs without it.
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

log = logging.getLogger("plugyard.registry.sources")

SOURCES_FILE = "sources.toml"


class DirectorySource(BaseModel):
    """A folder whose immediate sub-folders with a `plugin.toml` are plugins, packed and published with `key` when they change."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["directory"]
    path: Path
    key: Path = Field(description="A publisher key file: plain, or a keystore unlocked with PLUGYARD_KEY_PASSPHRASE")
    debounce_ms: int = Field(default=800, ge=50, le=60_000, description="Changes closer together than this are published once")

    @property
    def label(self) -> str:
        return f"directory {self.path}"


class ExportSource(BaseModel):
    """Another registry's export (`plugyard registry export DIR`), served over HTTP(S) or read from a `file://` URL."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["export"]
    url: str
    interval: float = Field(default=60.0, ge=1.0, le=86_400.0, description="Seconds between polls of index.json")

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https", "file") or (parts.scheme != "file" and not parts.netloc):
            raise ValueError(f"{value!r} is not an http://, https:// or file:// URL")
        # urljoin replaces the last path segment unless the base ends with a slash.
        return value if value.endswith("/") else value + "/"

    @property
    def label(self) -> str:
        return f"export {self.url}"


Source = Annotated[DirectorySource | ExportSource, Field(discriminator="kind")]
_SOURCE = TypeAdapter(Source)
KIND_MESSAGES = {
    "union_tag_not_found": 'missing: "directory" or "export"',
    "union_tag_invalid": 'not a kind of source: "directory" or "export"',
}


def sources_path(data_dir: Path) -> Path:
    return data_dir / "registry" / SOURCES_FILE


def load_sources(data_dir: Path) -> list[DirectorySource | ExportSource]:
    """The valid sources of `<data-dir>/registry/sources.toml`; none when there is no such file."""
    path = sources_path(data_dir)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        log.warning("registry: %s cannot be read (%s); running without discovery sources", path, exc)
        return []
    unknown = sorted(set(document) - {"source"})
    if unknown:
        log.warning("registry: %s: unknown key(s) %s ignored (sources are [[source]] tables)", path, ", ".join(unknown))
    tables = document.get("source", [])
    if not isinstance(tables, list):
        log.warning("registry: %s: 'source' must be an array of tables ([[source]]); running without discovery sources", path)
        return []
    sources = []
    for number, table in enumerate(tables, start=1):
        try:
            source = _SOURCE.validate_python(table)
        except ValidationError as exc:
            log.warning("registry: %s: source %d skipped: %s", path, number, _problems(exc))
            continue
        sources.append(_anchored(source, data_dir))
    return sources


def _problems(error: ValidationError) -> str:
    parts = []
    for problem in error.errors():
        # The first location part is the source kind the union chose; a failed choice has no location at all.
        field = ".".join(str(part) for part in problem["loc"][1:]) or "kind"
        message = KIND_MESSAGES.get(problem["type"], problem["msg"])
        parts.append(f"{field}: {message}")
    return "; ".join(parts)


def _anchored(source: DirectorySource | ExportSource, data_dir: Path) -> DirectorySource | ExportSource:
    if isinstance(source, DirectorySource):
        return source.model_copy(update={"path": data_dir / source.path.expanduser(), "key": data_dir / source.key.expanduser()})
    return source
