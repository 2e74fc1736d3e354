"""Compile the marketplace's Vyper contracts with the pinned compiler, and write their artifacts.

`python -m plugyard_marketplace.contract_build` rewrites `plugyard_marketplace/contracts/<Name>.json` from
`services/marketplace/contracts/<Name>.vy`; `--check` only compares and exits 1 when an artifact is stale.
Each source names its compiler version, EVM version and optimization in pragmas, so the bytes depend on
the source and the compiler alone; a test compiles again and compares.

Vyper is a development dependency: the service itself only reads the JSON artifacts (`contracts.load`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from plugyard_marketplace.contracts import ARTIFACT_DIR, CONTRACT_NAMES

PINNED_VYPER = "0.4.3"
SOURCE_DIR = Path(__file__).resolve().parents[2] / "contracts"


class CompilerMismatch(RuntimeError):
    """The installed vyper is not the pinned one, so its bytes would not be the committed ones."""


def compiler_version() -> str:
    import vyper

    return vyper.__version__


def compile_source(source: str, *, name: str = "<source>") -> dict[str, Any]:
    """Compile Vyper source text with the pinned compiler; returns the artifact's fields."""
    installed = compiler_version()
    if installed != PINNED_VYPER:
        raise CompilerMismatch(f"vyper {installed} is installed; the contracts are built with {PINNED_VYPER}")
    import vyper

    output = vyper.compile_code(
        source, contract_path=f"{name}.vy", output_formats=["abi", "bytecode", "bytecode_runtime"]
    )
    return {
        "contract": name,
        "compiler": f"vyper {installed}",
        "source_sha256": hashlib.sha256(source.encode()).hexdigest(),
        "abi": output["abi"],
        "bytecode": output["bytecode"],
        "runtime_bytecode": output["bytecode_runtime"],
    }


def compile_file(path: Path) -> dict[str, Any]:
    return compile_source(path.read_text(encoding="utf-8"), name=path.stem)


def render(artifact: dict[str, Any]) -> str:
    return json.dumps(artifact, indent=2, sort_keys=False) + "\n"


def build(names: tuple[str, ...] = CONTRACT_NAMES, *, write: bool = True) -> list[str]:
    """Compile each contract; write its artifact when `write`. Returns the names whose artifact differed."""
    stale = []
    for name in names:
        text = render(compile_file(SOURCE_DIR / f"{name}.vy"))
        target = ARTIFACT_DIR / f"{name}.json"
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            stale.append(name)
            if write:
                target.write_text(text, encoding="utf-8")
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m plugyard_marketplace.contract_build", description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 when an artifact is stale")
    args = parser.parse_args(argv)
    try:
        stale = build(write=not args.check)
    except CompilerMismatch as error:
        print(f"error: {error}", file=sys.stderr)
        return 70
    for name in stale:
        print(f"{'stale' if args.check else 'wrote'}: {ARTIFACT_DIR / (name + '.json')}")
    if not stale:
        print("artifacts up to date")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
