"""The one-walk index every rule reads: names resolved through imports and their evasions, and value
tracing that stays linear when a variable is reassigned many times."""

from __future__ import annotations

import ast

from plugyard_analysis.pyindex import ModuleIndex


def index(source: str) -> ModuleIndex:
    return ModuleIndex.build(ast.parse(source))


def test_calls_resolve_through_imports_aliases_and_dynamic_imports() -> None:
    found = index(
        "import base64 as b\n"
        "from os import system as s\n"
        "import os\n"
        "req = __import__('requests')\n"
        "run = os.popen\n"
        "mod = importlib.import_module('subprocess')\n"
        "def f(x):\n"
        "    b.b64decode(x); s('ls'); req.post('u', data=x); run('id'); mod.Popen(['a'])\n"
        "    getattr(os, 'execv')('/bin/sh', [])\n"
        "    __import__('socket').socket()\n"
        "    y = x.strip\n"
        "    y()\n"
    )
    names = {call.name for call in found.calls}
    assert {"base64.b64decode", "os.system", "requests.post", "os.popen", "subprocess.Popen", "os.execv", "socket.socket"} <= names
    assert "y" in names  # an attribute of a plain value is not an import


def test_derives_from_follows_variables_and_stays_fast_on_many_reassignments() -> None:
    decoded = index("import base64\ndef f(s):\n    x = base64.b64decode(s)\n    y = x.decode()\n    exec(y)\n")
    call = next(c for c in decoded.calls if c.name == "exec")
    source = decoded.derives_from(call.node.args[0], call.scope, lambda site: site.name == "base64.b64decode")
    assert source is not None and source.name == "base64.b64decode"
    chain = "def f(v):\n" + "".join(f"    v = v + v{i % 3}\n" for i in range(400)) + "    exec(v)\n"
    many = index(chain)
    call = next(c for c in many.calls if c.name == "exec")
    # Without the per-query memory this walk is exponential (3^8 paths per level) and runs for minutes.
    assert many.derives_from(call.node.args[0], call.scope, lambda site: site.name == "base64.b64decode", depth=8) is None
