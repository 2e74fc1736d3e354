"""PY-HIDDEN-CODE (Python runs a data file's content) and PY-CODE-IN-DATA (a data file holds code)."""

from __future__ import annotations

import base64
import marshal
import struct
import textwrap
import zlib

import pytest

from plugyard_analysis.context import PluginContext, ScanContext
from plugyard_analysis.rules.hidden_code import CODE_IN_DATA, HIDDEN_CODE, check_code_in_data, check_hidden_code, data_file_code
from plugyard_analysis.sources import parse_python, read_plugin_file

PAYLOAD = "import os, socket\n\ndef beacon():\n    return socket.gethostname(), os.getcwd()\n"


def hits(code: str) -> list[tuple[str, str]]:
    src = parse_python("sample/mod.py", textwrap.dedent(code).encode())
    return [(hit.severity or HIDDEN_CODE.severity, hit.detail) for hit in check_hidden_code(src)]


def png(trailer: bytes = b"") -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"") + trailer


def plugin_hits(files: dict[str, bytes]) -> list[tuple[str, str | None, str]]:
    plugin_files = [read_plugin_file(path, data) for path, data in files.items()]
    sources = [parse_python(f.path, f.data) for f in plugin_files if f.is_python]
    context = PluginContext(files=plugin_files, sources=sources, manifest=None, manifest_error=None, scan=ScanContext())
    return [(hit.severity or CODE_IN_DATA.severity, hit.path, hit.detail) for hit in check_code_in_data(context)]


MALICIOUS = {
    "exec after png end": """
        import zlib
        from pathlib import Path
        data = (Path(__file__).parent / "icon.png").read_bytes()
        exec(zlib.decompress(data[data.rfind(b"IEND") + 8:]))
    """,
    "with open and compile": """
        import os
        def load():
            with open(os.path.join(os.path.dirname(__file__), "notes.txt")) as f:
                source = f.read()
            exec(compile(source, "n", "exec"))
    """,
    "pkgutil marshal": """
        import marshal, pkgutil
        exec(marshal.loads(pkgutil.get_data(__name__, "data/cache.dat")[16:]))
    """,
    "resources FunctionType": """
        import marshal, types
        from importlib import resources
        def f():
            code = marshal.loads(resources.read_binary(__package__, "w.bin"))
            return types.FunctionType(code, globals())
    """,
    "base64 text resource eval": """
        import base64
        from pathlib import Path
        src = base64.b64decode(Path(__file__).with_name("LICENSE.txt").read_text().split("---")[-1])
        eval(compile(src, "x", "exec"))
    """,
    "relative name": """
        exec(open("payload.dat", "rb").read())
    """,
}

BENIGN = {
    "json": """
        import json
        from pathlib import Path
        cfg = json.loads((Path(__file__).parent / "defaults.json").read_text())
    """,
    "version py": """
        import os
        ns = {}
        exec(open(os.path.join(os.path.dirname(__file__), "_version.py")).read(), ns)
    """,
    "literal eval": """
        import ast, pkgutil
        table = ast.literal_eval(pkgutil.get_data(__name__, "data/t.txt").decode())
    """,
    "import module names from json": """
        import importlib, json
        from pathlib import Path
        mods = [importlib.import_module(n) for n in json.loads(Path(__file__).with_name("ext.json").read_text())]
    """,
    "exec of a constant": """
        exec("x = 1")
    """,
    "user config in home is not the plugin's file": """
        import os
        ns = {}
        exec(open(os.path.expanduser("~/.myapp/config.cfg")).read(), ns)
    """,
    "regex compile": """
        import re
        from pathlib import Path
        pattern = re.compile(Path(__file__).with_name("pattern.txt").read_text())
    """,
}


@pytest.mark.parametrize("name", sorted(MALICIOUS))
def test_flags_hidden_code(name: str) -> None:
    found = hits(MALICIOUS[name])
    assert found, name
    assert found[0][0] == "critical", found


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_ignores_benign_lookalikes(name: str) -> None:
    assert hits(BENIGN[name]) == []


def test_temporary_file_is_high() -> None:
    assert [s for s, _ in hits('exec(open("/tmp/.cache.dat").read())\n')] == ["high"]


def test_eval_of_plain_text_lines_only_warns() -> None:
    code = """
        import os
        def floats():
            with open(os.path.join(os.path.dirname(__file__), "floats.txt")) as f:
                for line in f:
                    yield eval(line)
    """
    assert [s for s, _ in hits(code)] == ["medium"]


def test_eval_of_compiled_or_decoded_content_is_critical() -> None:
    code = """
        import base64
        from pathlib import Path
        eval(base64.b64decode((Path(__file__).parent / "x.txt").read_bytes()))
    """
    assert [s for s, _ in hits(code)] == ["critical"]


def test_unrelated_marshal_in_a_function_reading_a_file_is_fine() -> None:
    code = """
        import marshal
        def roundtrip(o):
            with open("state.bin", "rb") as f:
                header = f.read(4)
            return marshal.loads(marshal.dumps(o)), header
    """
    assert hits(code) == []


def test_loop_that_index_cannot_follow_is_high() -> None:
    code = """
        from PIL import Image
        def unpack():
            image = Image.open("banner.png")
            out = bytearray()
            for pixel in image.getdata():
                out.append(pixel[0])
            exec(bytes(out))
    """
    assert [s for s, _ in hits(code)] == ["high"]


# --- PY-CODE-IN-DATA -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "concealed"),
    [
        ("notes.txt", PAYLOAD.encode(), False),
        ("icon.png", png(zlib.compress(PAYLOAD.encode())), True),
        ("icon.png", png(base64.b64encode(PAYLOAD.encode())), True),
        ("cache.dat", base64.encodebytes(zlib.compress(PAYLOAD.encode())), True),
        ("weights.bin", marshal.dumps(compile(PAYLOAD, "<w>", "exec")), True),
        ("blob.dat", zlib.compress(PAYLOAD.encode()), True),
    ],
)
def test_data_file_code(name: str, data: bytes, concealed: bool) -> None:
    found = data_file_code(read_plugin_file(f"sample/{name}", data))
    assert found is not None and found[1] is concealed


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("logo.png", png()),
        ("module.py-tpl", PAYLOAD.encode()),
        ("usage.md", b"```python\n" + PAYLOAD.encode() + b"```\n"),
        ("stopwords.txt", b"import\nfrom\nexec\nthe\n"),
        ("requirements.txt", b"requests>=2\n"),
        ("data.json", b'{"import": "os", "exec": true}'),
        ("tool", b"#!/usr/bin/env python3\nimport subprocess\nsubprocess.call(['x'])\n"),
        ("harmless.txt", b"import json\nprint(json.dumps({}))\n"),
        ("helpers.pth", b"import sys\n"),
    ],
)
def test_data_file_without_code(name: str, data: bytes) -> None:
    assert data_file_code(read_plugin_file(f"sample/{name}", data)) is None


def test_data_file_read_and_run_is_high() -> None:
    loader = b"from pathlib import Path\nexec(compile((Path(__file__).parent / 'notes.txt').read_text(), 'n', 'exec'))\n"
    found = plugin_hits({"sample/notes.txt": PAYLOAD.encode(), "sample/loader.py": loader})
    assert [(s, p) for s, p, _ in found] == [("high", "sample/notes.txt")]


def test_concealed_data_file_read_is_high() -> None:
    loader = b"from pathlib import Path\nDATA = (Path(__file__).parent / 'icon.png').read_bytes()\n"
    found = plugin_hits({"sample/icon.png": png(zlib.compress(PAYLOAD.encode())), "sample/ui.py": loader})
    assert [s for s, _, _ in found] == ["high"]


def test_plain_code_read_but_not_run_is_medium() -> None:
    reader = b"from pathlib import Path\nSNIPPET = (Path(__file__).parent / 'notes.txt').read_text()\n"
    found = plugin_hits({"sample/notes.txt": PAYLOAD.encode(), "sample/snippets.py": reader})
    assert [s for s, _, _ in found] == ["medium"]


def test_unreferenced_code_file_is_low() -> None:
    assert [s for s, _, _ in plugin_hits({"sample/notes.txt": PAYLOAD.encode()})] == ["low"]


def test_test_fixtures_are_skipped() -> None:
    reader = b"from pathlib import Path\nexec(compile((Path(__file__).parent / 'fixture.txt').read_text(), 'f', 'exec'))\n"
    assert plugin_hits({"tests/fixture.txt": PAYLOAD.encode(), "tests/test_run.py": reader}) == []


def test_test_fixture_read_by_plugin_code_still_counts() -> None:
    reader = b"from pathlib import Path\nexec(compile((Path(__file__).parent / 'tests' / 'fixture.txt').read_text(), 'f', 'exec'))\n"
    found = plugin_hits({"sample/tests/fixture.txt": PAYLOAD.encode(), "sample/boot.py": reader})
    assert [s for s, _, _ in found] == ["high"]
