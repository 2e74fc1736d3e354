"""The marketplace's compiled contracts: one JSON artifact each, checked in and rebuilt by
`python -m plugyard_marketplace.contract_build` (fields: contract, compiler, source_sha256, abi, bytecode,
runtime_bytecode; bytecodes as 0x-prefixed hex)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ARTIFACT_DIR = Path(__file__).resolve().parent
CONTRACT_NAMES = ("ReleaseRegistry", "Shop")


def load(name: str) -> dict[str, Any]:
    """The artifact of one of CONTRACT_NAMES."""
    if name not in CONTRACT_NAMES:
        raise KeyError(f"no contract {name!r}; known: {', '.join(CONTRACT_NAMES)}")
    return json.loads((ARTIFACT_DIR / f"{name}.json").read_text(encoding="utf-8"))
