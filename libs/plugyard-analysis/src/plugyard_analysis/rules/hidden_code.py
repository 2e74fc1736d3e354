"""Code hidden in files that are not Python:

- PY-HIDDEN-CODE: a Python file reads one of the plugin's data files (.png, .txt, .dat, .json, ...) and runs
  what it read (exec/eval/compile/marshal.loads/types.FunctionType), possibly decoded, decompressed or sliced;
- PY-CODE-IN-DATA: a data file whose content is Python code: source in a .txt/.dat, base64 or zlib that
  decodes to Python or marshalled code, code appended after an image's end marker. High when Python code of
  the plugin reads that file, lower when nothing refers to it.
"""

from __future__ import annotations

import ast
import base64
import binascii
import bz2
import lzma
import re
import zlib
from collections.abc import Iterator

from plugyard_analysis.context import PluginContext
from plugyard_analysis.pyindex import CallSite, ModuleIndex
from plugyard_analysis.rulebook import Hit, RuleInfo, plugin_rule, python_rule
from plugyard_analysis.rules._text_util import EXEC_CALLS, RESOURCE_READS, call_arg, derives, expand, normalise_path, path_shape, read_path_expr
from plugyard_analysis.sources import PluginFile, SourceFile

HIDDEN_CODE = RuleInfo(
    "PY-HIDDEN-CODE",
    "behaviour",
    "critical",
    "Code reads one of the plugin's non-Python files and executes its content, hiding the real code from review",
    cwe=506,
)
CODE_IN_DATA = RuleInfo(
    "PY-CODE-IN-DATA",
    "behaviour",
    "high",
    "A data file of the plugin holds Python code (plain, encoded, compressed or appended to an image)",
    cwe=506,
)

PYTHON_NAMES = re.compile(r"\.(py|pyw|pyi)$")
DATA_NAME = re.compile(r"^[^/*]*\.[a-z0-9_-]{1,8}$")  # "?" in the stem: with_suffix(".dat") of an unknown name
RUN_CALLS = tuple(sorted(EXEC_CALLS - {"runpy.run_path"}))


def _data_file_read(index: ModuleIndex, site: CallSite) -> str | None:
    """The file name, when `site` reads one of the plugin's files that is not Python source."""
    found = _data_file_origin(index, site)
    return found[0] if found is not None and found[1] != "user" else None


def _data_file_origin(index: ModuleIndex, site: CallSite) -> tuple[str, str] | None:
    """(file name, where it lives) when `site` reads a file that is not Python source. Where: "plugin" (next to
    the code: __file__, package resources, relative names), "temp", "unknown" (a directory not known
    statically) or "user" (the home directory or a system path: the user's config, not the plugin's file)."""
    target = read_path_expr(index, site.node)
    if target is None:
        return None
    for path in expand(path_shape(index, target, site.scope)):
        normal = normalise_path(path)
        name = normal.rsplit("/", 1)[-1]
        if not DATA_NAME.match(name) or PYTHON_NAMES.search(name) or name.endswith((".pyc", ".pyo")):
            continue  # Python source is reviewed as such; bundled bytecode is the metadata rules' business
        if normal.startswith("$plugin") or site.name in RESOURCE_READS:
            return name, "plugin"
        if normal.startswith(("$tmp", "/tmp/", "/var/tmp/", "/dev/shm/")):
            return name, "temp"
        if normal.startswith(("~", "/", "$")) or re.match(r"^[a-z]:/", normal):
            return name, "user"
        return name, "plugin" if not normal.startswith("?") else "unknown"
    return None


EVAL_CALLS = ("eval", "builtins.eval")
DECODE_PREFIXES = ("base64.", "zlib.", "bz2.", "lzma.", "gzip.", "binascii.", "marshal.", "codecs.decode", "bytes.fromhex")
CARRIER_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".tif", ".tiff", ".wav", ".mp3", ".bin", ".dat")


def _decodes(site: CallSite) -> bool:
    return site.name in ("compile", "builtins.compile") or site.name.startswith(DECODE_PREFIXES)


def _executed_arg(call: CallSite) -> ast.expr | None:
    if call.name in ("types.FunctionType", "types.CodeType"):
        return call_arg(call.node, 0, "code")
    return call_arg(call.node, 0, "source") or call_arg(call.node, 0)


@python_rule(HIDDEN_CODE)
def check_hidden_code(src: SourceFile) -> Iterator[Hit]:
    index = src.index
    runs = index.calls_to(*RUN_CALLS)
    if not runs:
        return
    reads_by_scope: dict[int, list[tuple[CallSite, str]]] | None = None
    lines: set[int] = set()
    for call in runs:
        if call.node.lineno in lines:
            continue  # exec(compile(...)): one finding for the line
        lines.add(call.node.lineno)
        arg = _executed_arg(call)
        if arg is None or isinstance(arg, ast.Constant):
            continue
        origins: list[tuple[str, str]] = []

        def reads_data(site: CallSite) -> bool:
            found = _data_file_origin(index, site)
            if found is not None and found[1] != "user":
                origins.append(found)
                return True
            return False

        if derives(index, arg, call.scope, reads_data) is not None:
            name, origin = origins[-1]
            if call.name in EVAL_CALLS and derives(index, arg, call.scope, _decodes) is None:
                # eval() of text read as is: a (risky) way to parse literals, not a hidden program
                yield Hit(f"{call.name}() evaluates text read from {name}", node=call.node, severity="medium")
            elif origin == "plugin":
                yield Hit(f"{call.name}() runs content read from the plugin's file {name}", node=call.node)
            else:
                where = "a temporary file" if origin == "temp" else "the data file"
                yield Hit(f"{call.name}() runs content read from {where} {name}", node=call.node, severity="high")
            continue
        # the flow went through a loop the index cannot follow (pixels -> bytes): the same function reads an
        # image or binary blob and executes something computed
        if call.scope is index.module or call.name not in ("exec", "eval", "compile", "builtins.exec", "builtins.eval"):
            continue
        if reads_by_scope is None:
            reads_by_scope = {}
            for site in index.calls:
                name = _data_file_read(index, site)
                if name is not None and name.endswith(CARRIER_SUFFIXES):
                    reads_by_scope.setdefault(id(site.scope), []).append((site, name))
        nearby = reads_by_scope.get(id(call.scope))
        if nearby:
            yield Hit(f"{call.name}() runs computed code in a function that reads {nearby[0][1]}", node=call.node, severity="high")


# --- PY-CODE-IN-DATA -------------------------------------------------------------------------------------

TEMPLATE_SUFFIXES = (
    ".tmpl", ".tpl", "-tpl", ".j2", ".jinja", ".jinja2", ".mako", ".template", ".in", ".example", ".sample",
    ".pyi", ".pyx", ".pxd", ".pxi", ".ipynb", ".md", ".rst", ".html", ".htm", ".pyc", ".pyo", ".orig", ".rej", ".patch", ".diff",
    ".pth",  # PY-PTH-EXEC judges these
)  # fmt: skip
CODE_HINT = re.compile(r"^\s*(import\s+\w|from\s+[\w.]+\s+import\b)|\b(exec|eval|__import__|compile)\s*\(", re.M)
RISKY_MODULES = ("os", "subprocess", "socket", "ctypes", "base64", "marshal", "zlib", "urllib", "requests", "http", "shutil", "pty", "winreg", "sys")
RISKY_CALLS = {"exec", "eval", "__import__", "compile", "os.system", "subprocess.Popen", "subprocess.run", "subprocess.call", "marshal.loads"}
PNG_END = b"IEND\xaeB`\x82"
MAX_DATA = 8 * 1024 * 1024


def _python_code(text: str) -> str | None:
    """Why `text` is Python code that does something risky, or None."""
    if len(text) > 1_000_000 or not CODE_HINT.search(text):
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if not tree.body or all(isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) for s in tree.body):
        return None
    index = ModuleIndex.build(tree)
    risky = sorted(m for m in index.imported_modules if m.split(".")[0] in RISKY_MODULES)
    calls = sorted({c.name for c in index.calls if c.name in RISKY_CALLS})
    if not risky and not calls:
        return None
    return "Python code" + (f" importing {', '.join(risky[:3])}" if risky else "") + (f" calling {', '.join(calls[:3])}" if calls else "")


def _unpack(data: bytes) -> bytes | None:
    for decompress in (zlib.decompress, bz2.decompress, lzma.decompress):
        try:
            return decompress(data)
        except Exception:  # not this format
            continue
    return None


def _hidden_in_bytes(data: bytes, depth: int = 2, plain: bool = True) -> str | None:
    """What code `data` holds: Python source (unless not `plain`), marshalled code, or either base64/compressed."""
    if not data or depth < 0:
        return None
    if data[:1] in (b"\xe3", b"c") and b"<module>" in data[:4096] and len(data) > 32:
        return "marshalled Python code"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        code = _python_code(text) if plain else None
        if code:
            return code
        compact = "".join(text.split())
        if len(compact) >= 64 and re.fullmatch(r"[A-Za-z0-9+/=_-]+", compact):
            try:
                decoded = base64.b64decode(compact + "=" * (-len(compact) % 4), altchars=b"-_" if "-" in compact or "_" in compact else None)
            except (binascii.Error, ValueError):
                decoded = b""
            found = _hidden_in_bytes(decoded, depth - 1)
            if found:
                return f"base64-encoded {found}"
    if data[:2] in (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda") or data[:3] == b"BZh" or data[:6] == b"\xfd7zXZ\x00":
        unpacked = _unpack(data)
        found = _hidden_in_bytes(unpacked or b"", depth - 1)
        if found:
            return f"compressed {found}"
    return None


def _image_tail(file: PluginFile) -> bytes | None:
    data = file.data
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        end = data.rfind(PNG_END)
        return data[end + len(PNG_END) :] if end >= 0 else None
    if data.startswith(b"\xff\xd8"):
        end = data.rfind(b"\xff\xd9")
        return data[end + 2 :] if end >= 0 else None
    if data.startswith((b"GIF87a", b"GIF89a")):
        end = data.rfind(b"\x00\x3b")
        return data[end + 2 :] if end >= 0 else None
    return None


def data_file_code(file: PluginFile) -> tuple[str, bool] | None:
    """(what code the data file holds, whether it is deliberately concealed) or None."""
    name = file.name.lower()
    if file.is_python or PYTHON_NAMES.search(name) or name.endswith(TEMPLATE_SUFFIXES) or len(file.data) > MAX_DATA:
        return None
    if name in ("plugin.toml", "pyproject.toml", "setup.cfg") or name.startswith(("license", "copying", "readme", "changelog")):
        return None
    tail = _image_tail(file)
    if tail is not None:
        tail = tail.strip(b"\x00\r\n\t ")
        if len(tail) >= 16:
            found = _hidden_in_bytes(tail)
            if found:
                return f"{found} appended after the image data", True
        return None
    if file.text is not None:
        if file.text.startswith("#!") and "python" in file.text.split("\n", 1)[0]:
            return None  # a script: runs only when someone runs it
        code = _python_code(file.text)
        if code:
            return code, False
    found = _hidden_in_bytes(file.data, plain=False)  # encoded, compressed or marshalled: concealed on purpose
    return (found, True) if found else None


def _readers(context: PluginContext, file: PluginFile) -> tuple[list[tuple[SourceFile, int]], list[tuple[SourceFile, int]]]:
    """(Python code that reads the file by name, Python code that only mentions its name)."""
    base = file.name.lower()
    reads: list[tuple[SourceFile, int]] = []
    mentions: list[tuple[SourceFile, int]] = []
    for src in context.sources:
        if _is_test(src.path):
            continue
        if not any(base in s.value.lower() for s in src.index.strings if len(s.value) < 1000):
            continue
        for site in src.index.calls:
            if _data_file_read(src.index, site) == base:
                reads.append((src, site.node.lineno))
                break
        else:
            line = next(s.node.lineno for s in src.index.strings if len(s.value) < 1000 and base in s.value.lower())
            mentions.append((src, line))
    return reads, mentions


def _is_test(path: str) -> bool:
    parts = path.lower().split("/")
    return any(p in ("tests", "test", "testing") for p in parts[:-1]) or parts[-1].startswith("test_") or parts[-1] == "conftest.py"


@plugin_rule(CODE_IN_DATA)
def check_code_in_data(context: PluginContext) -> Iterator[Hit]:
    for file in context.files:
        found = data_file_code(file)
        if found is None:
            continue
        what, concealed = found
        reads, mentions = _readers(context, file)
        if _is_test(file.path) and not reads and not mentions:
            continue  # a test fixture that only tests use
        if reads:
            src, line = reads[0]
            runs = any(reader.index.calls_to(*RUN_CALLS) for reader, _ in reads)
            if concealed or runs:
                yield Hit(f"{file.path} holds {what}; {src.path}:{line} reads it", path=file.path)
            else:
                yield Hit(f"{file.path} holds {what}; {src.path}:{line} reads it but runs no dynamic code", path=file.path, severity="medium")
        elif mentions:
            src, line = mentions[0]
            yield Hit(f"{file.path} holds {what}; {src.path}:{line} names it", path=file.path, severity="medium")
        else:
            yield Hit(f"{file.path} holds {what}; no Python code names it", path=file.path, severity="medium" if concealed else "low")
