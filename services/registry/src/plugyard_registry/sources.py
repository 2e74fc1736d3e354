"""The registry's discovery sources as background loops of its service, one per configured source."""

from __future__ import annotations

from pathlib import Path

from plugyard_core.service import BackgroundLoop
from plugyard_registry.handlers import RegistryContext
from plugyard_registry.sources_config import DirectorySource, load_sources
from plugyard_registry.sources_directory import DirectorySourceRunner
from plugyard_registry.sources_export import ExportSourcePoller


def source_loops(ctx: RegistryContext, data_dir: Path) -> list[BackgroundLoop]:
    return [
        (DirectorySourceRunner(ctx, source) if isinstance(source, DirectorySource) else ExportSourcePoller(ctx, source)).run
        for source in load_sources(data_dir)
    ]
