"""The local development chain `plugyard up` runs for the marketplace: Foundry's anvil, its state kept in the data
directory so that purchases survive a restart (written every second, so a kill -9 loses at most that second).

Found at `PLUGYARD_ANVIL`, else in the venv where `make setup` installs it (`<venv>/anvil`), else on PATH. Without
it, and without `PLUGYARD_CHAIN_URL` naming another node, the stack runs without the marketplace.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

ANVIL_ENV = "PLUGYARD_ANVIL"
CHAIN_URL_ENV = "PLUGYARD_CHAIN_URL"
CHAIN_PORT_ENV = "PLUGYARD_CHAIN_PORT"
CHAIN_URL_FILE = "chain.url"
BLOCK_TIME_S = 1  # a block a second, so that confirmations come without traffic
NO_CHAIN = ("marketplace: off, no chain to use (install Node's npm and run `make setup` for a local anvil, "
            f"or set {CHAIN_URL_ENV} to a JSON-RPC node)")


def anvil_path(environ: Mapping[str, str] | None = None) -> Path | None:
    env = os.environ if environ is None else environ
    explicit = env.get(ANVIL_ENV, "").strip()
    if explicit:
        return Path(explicit) if Path(explicit).is_file() else None
    in_venv = Path(sys.prefix) / "anvil" / "node_modules" / ".bin" / "anvil"
    if in_venv.exists():
        return in_venv
    found = shutil.which("anvil")
    return Path(found) if found else None


def anvil_argv(anvil: Path, port: int, data_dir: Path) -> list[str]:
    state = data_dir / "chain"
    state.mkdir(parents=True, exist_ok=True)
    return [
        str(anvil), "--host", "127.0.0.1", "--port", str(port), "--chain-id", "31337", "--block-time", str(BLOCK_TIME_S),
        "--state", str(state / "state.json"), "--state-interval", "1", "--silent",
    ]
