"""The committed artifacts are exactly what the pinned compiler makes of the committed sources."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

import pytest

from plugyard_marketplace import contracts
from plugyard_marketplace.contract_build import PINNED_VYPER, SOURCE_DIR, build, compile_file, compiler_version

ROOT = Path(__file__).resolve().parents[2]


def test_installed_vyper_is_the_pinned_one() -> None:
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]["dev"]
    (pin,) = [spec for spec in dev if spec.startswith("vyper")]
    assert pin == f"vyper=={PINNED_VYPER}"
    assert compiler_version() == PINNED_VYPER


@pytest.mark.parametrize("name", contracts.CONTRACT_NAMES)
def test_compiling_again_gives_the_committed_bytes(name: str) -> None:
    source = SOURCE_DIR / f"{name}.vy"
    committed = contracts.load(name)
    fresh = compile_file(source)
    assert committed["contract"] == name
    assert committed["compiler"] == f"vyper {PINNED_VYPER}"
    assert committed["source_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest(), "source changed: rebuild"
    assert fresh["bytecode"] == committed["bytecode"]
    assert fresh["runtime_bytecode"] == committed["runtime_bytecode"]
    assert fresh["abi"] == committed["abi"]
    assert re.fullmatch(r"0x[0-9a-f]+", committed["bytecode"]) and len(committed["runtime_bytecode"]) > 2


def test_sources_pin_their_compiler_and_evm() -> None:
    for name in contracts.CONTRACT_NAMES:
        text = (SOURCE_DIR / f"{name}.vy").read_text()
        assert f"# pragma version {PINNED_VYPER}\n" in text
        assert "# pragma evm-version cancun\n" in text


def test_build_check_finds_nothing_stale() -> None:
    assert build(write=False) == []


def test_build_entry_point_checks() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "plugyard_marketplace.contract_build", "--check"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "artifacts up to date"
