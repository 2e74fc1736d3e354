"""A plugin's files as the analysis sees them: Python sources parsed once, other files classified."""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from plugyard_analysis.pyindex import ModuleIndex

PYTHON_SUFFIXES = (".py", ".pyw")
BINARY_MAGIC = (b"\x7fELF", b"MZ", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"\xfe\xed\xfa")


class Unanalysable(Exception):
    """A file the analysis could not judge; `rule` is the SCAN-* finding it becomes."""

    def __init__(self, rule: str, detail: str, line: int | None = None) -> None:
        super().__init__(detail)
        self.rule = rule
        self.detail = detail
        self.line = line


@dataclass
class PluginFile:
    """Any file of the plugin. `text` is None for binary content."""

    path: str  # relative to the plugin root, '/'-separated
    data: bytes
    text: str | None = None

    @property
    def suffix(self) -> str:
        return Path(self.path).suffix.lower()

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def is_python(self) -> bool:
        return self.suffix in PYTHON_SUFFIXES

    @property
    def is_binary(self) -> bool:
        return self.text is None

    def line(self, number: int | None) -> str:
        if number is None or self.text is None:
            return ""
        lines = self.text.splitlines()
        return lines[number - 1].strip()[:300] if 0 < number <= len(lines) else ""


@dataclass
class SourceFile(PluginFile):
    """A parsed Python file with its one-walk index (every rule reads the index, none walks the tree again)."""

    tree: ast.Module = field(default_factory=lambda: ast.Module(body=[], type_ignores=[]))
    index: ModuleIndex = field(default_factory=ModuleIndex)

    @property
    def lines(self) -> int:
        return (self.text or "").count("\n") + 1


def looks_binary(data: bytes) -> bool:
    head = data[:8192]
    return any(head.startswith(magic) for magic in BINARY_MAGIC) or b"\x00" in head


def read_plugin_file(path: str, data: bytes) -> PluginFile:
    if looks_binary(data) and not path.lower().endswith(PYTHON_SUFFIXES):
        return PluginFile(path=path, data=data, text=None)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None if not path.lower().endswith(PYTHON_SUFFIXES) else data.decode("latin-1")
    return PluginFile(path=path, data=data, text=text)


def decode_python(data: bytes) -> str:
    """The source text by its PEP 263 declaration (UTF-8 by default); Unanalysable when it does not decode."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        raise Unanalysable("SCAN-ENCODING", f"the file does not decode as Python source: {exc}") from None


def parse_python(path: str, data: bytes) -> SourceFile:
    """Parse and index a Python file, or raise Unanalysable naming why it cannot be judged."""
    text = decode_python(data)
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as exc:
        if "too many nested" in str(exc):
            raise Unanalysable("SCAN-NESTING", f"nesting too deep for the parser: {exc.msg}", exc.lineno) from None
        raise Unanalysable("SCAN-PARSE-ERROR", f"not valid Python 3: {exc.msg}", exc.lineno) from None
    except ValueError as exc:  # NUL bytes
        raise Unanalysable("SCAN-PARSE-ERROR", f"not Python source: {exc}") from None
    except (RecursionError, MemoryError):
        raise Unanalysable("SCAN-NESTING", "nesting too deep for the parser") from None
    try:
        index = ModuleIndex.build(tree)
    except (RecursionError, MemoryError):
        raise Unanalysable("SCAN-NESTING", "nesting too deep to analyse") from None
    return SourceFile(path=path, data=data, text=text, tree=tree, index=index)
