"""`<data-dir>/registry/sources.toml`: valid sources are anchored to the data dir, a broken one is one log line and skipped."""

from __future__ import annotations

import logging

from plugyard_registry.sources_config import DirectorySource, ExportSource, load_sources
from tests.registry_sources.support import write_sources


def test_sources_are_read_and_relative_paths_anchored_to_the_data_dir(tmp_path):
    write_sources(tmp_path, """
[[source]]
kind = "directory"
path = "plugins"
key = "/keys/dev.key"

[[source]]
kind = "export"
url = "http://127.0.0.1:8000/exports/main"
interval = 5
""")
    directory, export = load_sources(tmp_path)
    assert isinstance(directory, DirectorySource) and directory.path == tmp_path / "plugins" and str(directory.key) == "/keys/dev.key"
    assert isinstance(export, ExportSource) and export.url == "http://127.0.0.1:8000/exports/main/" and export.interval == 5


def test_no_file_means_no_sources(tmp_path, caplog):
    assert load_sources(tmp_path) == [] and not caplog.records


def test_a_broken_file_is_one_line_and_no_sources(tmp_path, caplog):
    write_sources(tmp_path, "[[source]\nkind = ")
    assert load_sources(tmp_path) == []
    assert len(caplog.records) == 1 and "sources.toml cannot be read" in caplog.records[0].getMessage()


def test_each_broken_source_is_skipped_naming_its_problem(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="plugyard.registry.sources")
    write_sources(tmp_path, """
[[source]]
kind = "export"
url = "ftp://elsewhere/"

[[source]]
kind = "directory"
path = "plugins"

[[source]]
kind = "mirror"

[[source]]
kind = "export"
url = "file:///srv/export"
interval = 0.1

[[source]]
kind = "export"
url = "file:///srv/export"
""")
    sources = load_sources(tmp_path)
    assert [s.url for s in sources] == ["file:///srv/export/"]
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 4, lines
    assert "source 1 skipped: url:" in lines[0] and "ftp://elsewhere/" in lines[0]
    assert "source 2 skipped: key: Field required" in lines[1]
    assert 'source 3 skipped: kind: not a kind of source: "directory" or "export"' in lines[2]
    assert "source 4 skipped: interval:" in lines[3]
