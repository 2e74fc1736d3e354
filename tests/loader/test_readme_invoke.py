"""The README's plain-NATS invocation snippet, run as written (its data directory swapped) against a loader running textkit."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

from plugyard_core.bus_identities import CLIENT, ensure_identity
from plugyard_core.rpc import call
from plugyard_core.settings import NATS_URL_FILE
from plugyard_loader.handlers import loader_subject
from plugyard_schemas.loader import LoadRequest, PluginReply
from tests.loader.conftest import HOST, Stack

ROOT = Path(__file__).resolve().parents[2]


def invoke_snippet() -> str:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    snippet = next(b for b in blocks if "plugyard.rpc.plugin." in b)
    assert "import plugyard" not in snippet and "from plugyard" not in snippet, "the README's example must not import Plugyard"
    return snippet


async def test_readme_snippet_invokes_a_plugin_with_plain_nats(stack: Stack, nats_server, tmp_path: Path) -> None:
    folder = ROOT / "examples" / "plugins" / "textkit"
    await call(stack.nc, loader_subject(HOST, "load"), LoadRequest(name="plugyard-textkit", path=str(folder)), PluginReply, timeout=60)
    script = tmp_path / "caller.py"
    data = tmp_path / "data"  # what `plugyard up` leaves there: the URL and the client's seed
    ensure_identity(CLIENT, data)
    (data / NATS_URL_FILE).write_text(nats_server.url + "\n")
    script.write_text(invoke_snippet().replace('data=".plugyard"', f'data="{data}"'))
    process = await asyncio.create_subprocess_exec(sys.executable, str(script), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert "'result'" in out.decode() and "'words': 3" in out.decode(), out.decode()
