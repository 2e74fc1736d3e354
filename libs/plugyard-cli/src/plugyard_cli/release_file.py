"""The release a `plugyard publish PATH` is about: a plugin folder is packed first, an archive read as it is."""

from __future__ import annotations

import tempfile
from pathlib import Path

from plugyard_artifacts.manifest import ManifestError
from plugyard_artifacts.pack import pack
from plugyard_artifacts.release import ArchiveRelease, ReleaseRefused, inspect_archive
from plugyard_cli.output import EXIT_USAGE, CliError


def local_release(path: Path) -> ArchiveRelease:
    try:
        if path.is_dir():
            with tempfile.TemporaryDirectory(prefix="plugyard-pack-") as tmp:
                packed = pack(path, Path(tmp) / "release.tar.gz")
                data = packed.path.read_bytes()
        elif path.is_file():
            data = path.read_bytes()
        else:
            raise CliError(f"{path} is neither a plugin folder nor an archive", code="invalid_request", exit_code=EXIT_USAGE)
        return inspect_archive(data)
    except (ManifestError, ReleaseRefused, OSError, ValueError) as exc:
        raise CliError(str(exc), code="invalid_request", exit_code=EXIT_USAGE) from None
