"""Code execution rules: decoded payloads executed, dynamic exec/eval, and code or programs downloaded and run.

- PY-EXEC-DECODED (critical): exec/eval/compile/`__import__`/`types.FunctionType`/`marshal.loads` of data that
  was decoded (base64 & co, compression, marshal, hex, rot13, `chr` joins, reversed strings, XOR, decrypt);
- PY-EXEC-DYNAMIC (medium): exec/eval of a value that is neither a literal nor decoded;
- PY-DOWNLOAD-EXEC (critical): network data executed (exec/eval, or a command taken from a response), a
  downloaded file run as a program, or a shell command that downloads and runs (`pip install URL`, `curl | sh`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from plugyard_analysis.pyindex import CallSite, ModuleIndex, Scope
from plugyard_analysis.rulebook import Hit, RuleInfo, python_rule
from plugyard_analysis.rules._behaviour_util import (
    argument,
    constant_str,
    direct,
    facts,
    is_network_read,
    last_part,
    process_command,
    render,
    short,
    trace,
)
from plugyard_analysis.sources import SourceFile

EXEC_DECODED = RuleInfo(
    "PY-EXEC-DECODED",
    "behaviour",
    "critical",
    "Decoded or deobfuscated data is executed as code (exec/eval/compile/marshal of base64, zlib, hex, rot13, chr or reversed strings)",
    cwe=506,
)
EXEC_DYNAMIC = RuleInfo(
    "PY-EXEC-DYNAMIC",
    "behaviour",
    "medium",
    "exec/eval runs a value that is not a literal, so what it executes is decided at run time",
    confidence="medium",
    cwe=95,
)
DOWNLOAD_EXEC = RuleInfo(
    "PY-DOWNLOAD-EXEC",
    "behaviour",
    "critical",
    "Code or a program fetched from the network is executed (exec of a response, a downloaded file run, pip install or curl|sh of a URL)",
    cwe=494,
)

# --- decoders ---------------------------------------------------------------------------------------------

DECODE_FUNCTIONS = frozenset(
    {
        "b64decode", "b32decode", "b32hexdecode", "b16decode", "a85decode", "b85decode", "decodebytes", "decodestring",
        "standard_b64decode", "urlsafe_b64decode", "unhexlify", "a2b_hex", "a2b_base64", "a2b_uu", "a2b_qp",
    }
)
DECODE_CALLS = frozenset(
    {
        "zlib.decompress", "gzip.decompress", "bz2.decompress", "lzma.decompress", "marshal.loads", "bytes.fromhex",
        "bytearray.fromhex", "zlib.decompressobj", "lzma.LZMADecompressor", "bz2.BZ2Decompressor",
    }
)
DECODE_MODULES = ("base64", "binascii", "codecs")
CODEC_TRICKS = frozenset({"rot13", "rot_13", "rot-13", "hex", "hex_codec", "base64", "base64_codec", "base_64", "zlib", "zlib_codec", "bz2", "bz2_codec", "uu", "uu_codec", "base32"})


def _codec(call: ast.Call, index: ModuleIndex | None = None, scope: Scope | None = None) -> str | None:
    """The codec named by the call's second argument when it is one that hides code (rot13, hex, base64, ...);
    the name may be built or held in a variable (`ENC = "rot" + "_13"`)."""
    expr = argument(call, 1, "encoding")
    encoding = constant_str(expr)
    if encoding is None and expr is not None and index is not None and scope is not None:
        encoding = render(index, expr, scope)
    return encoding.lower() if encoding is not None and encoding.lower() in CODEC_TRICKS else None


def _is_reverse_slice(node: ast.AST) -> bool:
    if not (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice)):
        return False
    step = node.slice.step
    if isinstance(step, ast.UnaryOp) and isinstance(step.op, ast.USub):
        step = step.operand
        return isinstance(step, ast.Constant) and step.value == 1
    return isinstance(step, ast.Constant) and step.value == -1


def _builds_from_chars(expr: ast.AST) -> str | None:
    """`chr(...)` or `x ^ key` inside a generator/list/map feeding a join or bytes(): a character decoder."""
    budget = 200
    for node in ast.walk(expr):
        budget -= 1
        if budget < 0:
            break
        if isinstance(node, ast.Name) and node.id == "chr":
            return "chr() codes"
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitXor):
            return "XOR-decoded characters"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "reversed":
            return "reversed() characters"
    return None


def decoder(index: ModuleIndex, node: ast.AST, name: str, scope: Scope | None = None) -> str | None:
    """What kind of decoding `node` is, or None. Reversals count only when they reverse a literal."""
    if isinstance(node, ast.Subscript):
        if _is_reverse_slice(node) and _literal_text(index, node.value, scope):
            return "a reversed string ([::-1])"
        return None
    if not isinstance(node, ast.Call):
        return None
    part = last_part(name)
    head = name.split(".", 1)[0]
    if name == "marshal.loads" and node.args and isinstance(node.args[0], ast.Call) and index.resolve(node.args[0].func) == "marshal.dumps":
        return None  # a round trip, nothing hidden
    if name in DECODE_CALLS:
        return f"{name}()"
    if part in DECODE_FUNCTIONS and (head in DECODE_MODULES or name == part):
        return f"{name}()"
    if name in ("codecs.decode", "codecs.encode", "_codecs.decode", "_codecs.encode"):
        codec = _codec(node, index, scope)
        if codec is not None and (name.endswith("decode") or codec.startswith("rot")):
            return f"{name}(…, {codec!r})"
    if name in ("codecs.getdecoder", "codecs.lookup") and _codec(ast.Call(func=node.func, args=[ast.Constant(None), *node.args], keywords=[])):
        return f"{name}()"
    if isinstance(node.func, ast.Attribute):
        method = node.func.attr
        if method in ("decompress", "decrypt", "decrypt_and_verify"):
            return f".{method}()"
        if method == "join" and node.args:
            kind = _builds_from_chars(node.args[0])
            if kind == "reversed() characters" and not _reverses_literal(index, node.args[0], scope):
                kind = None
            if kind is not None:
                return f"a string joined from {kind}"
        if method == "translate" and node.args and not isinstance(node.args[0], ast.Constant):
            return "a translate() substitution"  # rot13 & co. by a table; only ever reached from a code sink
        if method == "decode" and node.args and (constant_str(node.args[0]) or "").lower() in CODEC_TRICKS:
            return f".decode({constant_str(node.args[0])!r})"
    if name in ("bytes", "bytearray") and node.args:
        first = node.args[0]
        if isinstance(first, (ast.GeneratorExp, ast.ListComp)) and _builds_from_chars(first) == "XOR-decoded characters":
            return f"an XOR-decoded {name}()"
        if isinstance(first, (ast.List, ast.Tuple)) and len(first.elts) >= 8 and all(isinstance(e, ast.Constant) and isinstance(e.value, int) for e in first.elts):
            return f"{name}() of a list of character codes"
    return None


def _literal_text(index: ModuleIndex, expr: ast.AST, scope: Scope | None) -> bool:
    """A string literal, or a variable holding only literal text (what a reversal hides code in)."""
    if isinstance(expr, ast.Constant):
        return isinstance(expr.value, (str, bytes))
    if scope is None:
        return False
    return isinstance(expr, (ast.Name, ast.BinOp, ast.JoinedStr)) and is_literal(index, expr, scope) and bool(index.strings_in(expr, scope))


def _reverses_literal(index: ModuleIndex, expr: ast.AST, scope: Scope | None) -> bool:
    for node in ast.walk(expr):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "reversed" and node.args:
            return _literal_text(index, node.args[0], scope)
    return False


def decoded_source(index: ModuleIndex, expr: ast.AST | None, scope: Scope, skip: str | None = None, across_functions: bool = True) -> str | None:
    found: list[str] = []

    def pred(node: ast.AST, name: str) -> bool:
        if skip is not None and name == skip:
            return False
        kind = decoder(index, node, name, scope)
        if kind is not None:
            found.append(kind)
            return True
        return False

    trace(index, expr, scope, pred, across_functions=across_functions)
    return found[0] if found else None


# --- sinks ------------------------------------------------------------------------------------------------


def code_sinks(src: SourceFile) -> Iterator[tuple[CallSite, str, ast.expr | None]]:
    """(call, what it is, the argument that becomes code or a module name)."""
    module = facts(src)
    for site in module.exec_calls:
        yield site, module.builtin_called(site) or "exec", argument(site.node, 0, "source")
    for site in module.compile_calls:
        yield site, "compile", argument(site.node, 0, "source")
    for site in facts(src).index.calls_to("types.FunctionType", "types.LambdaType", "marshal.loads", "__import__", "importlib.import_module", "builtins.__import__"):
        yield site, site.name, argument(site.node, 0)


def _reversed_directly(index: ModuleIndex, payload: ast.AST, scope: Scope) -> bool:
    """The code itself is a reversed string: `exec(s[::-1])`, `exec(compile("".join(reversed(s)), ...))`."""

    def reversal(node: ast.AST, name: str) -> bool:
        if _is_reverse_slice(node):
            return True
        return (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "join"
            and constant_str(node.func.value) == ""
            and bool(node.args)
            and isinstance(node.args[0], ast.Call)
            and index.resolve(node.args[0].func) == "reversed"
        )

    if isinstance(payload, ast.Call) and facts_builtin(index, payload) == "compile" and payload.args:
        payload = payload.args[0]
    return direct(index, payload, scope, reversal) is not None


def facts_builtin(index: ModuleIndex, call: ast.Call) -> str | None:
    name = index.resolve(call.func)
    return last_part(name) if name in ("compile", "builtins.compile") else None


@python_rule(EXEC_DECODED)
def exec_decoded(src: SourceFile) -> Iterator[Hit]:
    reported: set[int] = set()
    for site, what, payload in code_sinks(src):
        if payload is None or site.node.lineno in reported or isinstance(payload, ast.Constant):
            continue
        if what not in ("marshal.loads", "__import__", "importlib.import_module", "builtins.__import__") and _reversed_directly(facts(src).index, payload, site.scope):
            reported.add(site.node.lineno)
            yield Hit(f"{what}() of a reversed string", node=site.node)
            continue
        # marshal.loads only builds a code object: there the decoding must be in plain sight, not behind a
        # helper's return (import machinery unmarshals decompressed archive members that way)
        loads = what == "marshal.loads"
        kind = decoded_source(facts(src).index, payload, site.scope, skip="marshal.loads" if loads else None, across_functions=not loads)
        if kind is not None:
            reported.add(site.node.lineno)
            yield Hit(f"{what}() of data decoded by {kind}", node=site.node)


# --- dynamic exec -----------------------------------------------------------------------------------------

LITERAL_NODES = (ast.Constant, ast.JoinedStr, ast.FormattedValue, ast.BinOp, ast.UnaryOp, ast.Tuple, ast.List, ast.Set, ast.Dict, ast.operator, ast.unaryop, ast.expr_context)
LITERAL_METHODS = frozenset({"format", "join", "strip", "replace", "lower", "upper", "rstrip", "lstrip"})


def is_literal(index: ModuleIndex, expr: ast.AST, scope: Scope, depth: int = 3) -> bool:
    """Whether `expr` is built only from literals (directly or through variables assigned literals)."""
    stack = [(expr, depth)]
    budget = 300
    while stack:
        node, level = stack.pop()
        budget -= 1
        if budget < 0:
            return False
        if isinstance(node, ast.Name):
            values = index.values_of(node.id, scope)
            if level <= 0 or not values:
                return False
            stack.extend((v, level - 1) for v in values)
            continue
        if isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Attribute) and node.func.attr in LITERAL_METHODS) or node.keywords:
                return False
            stack.append((node.func.value, level))
            stack.extend((a, level) for a in node.args)
            continue
        if isinstance(node, ast.Attribute):
            return False
        if not isinstance(node, LITERAL_NODES):
            return False
        stack.extend((child, level) for child in ast.iter_child_nodes(node))
    return True


def _reads_own_python_file(index: ModuleIndex, expr: ast.AST, scope: Scope) -> bool:
    """`exec(open("pkg/_version.py").read())`: executing a relative .py file of the package itself."""

    def opens_relative_py(node: ast.AST, name: str) -> bool:
        if not isinstance(node, ast.Call):
            return False
        if name in ("open", "io.open", "codecs.open") or last_part(name) in ("read_text", "read_bytes"):
            target = argument(node, 0) if name in ("open", "io.open", "codecs.open") else None
            text = render(index, target if target is not None else getattr(node.func, "value", None), scope)
            last = re.split(r"[\\/]", text)[-1]
            return last.endswith(".py") and "{" not in last and not text.startswith(("/", "~")) and "://" not in text
        return False

    return direct(index, expr, scope, opens_relative_py) is not None


@python_rule(EXEC_DYNAMIC)
def exec_dynamic(src: SourceFile) -> Iterator[Hit]:
    index = facts(src).index
    reported: set[int] = set()
    for site in facts(src).exec_calls:
        payload = argument(site.node, 0, "source")
        line = site.node.lineno
        if payload is None or line in reported or is_literal(index, payload, site.scope):
            continue
        if decoded_source(index, payload, site.scope) is not None or trace(index, payload, site.scope, _net(index, site.scope)) is not None:
            continue  # PY-EXEC-DECODED / PY-DOWNLOAD-EXEC report it
        if _reads_own_python_file(index, payload, site.scope):
            continue
        reported.add(line)
        what = facts(src).builtin_called(site)
        yield Hit(f"{what}() of {short(ast.unparse(payload), 60)}", node=site.node)


# --- download and execute ---------------------------------------------------------------------------------


def _net(index: ModuleIndex, scope: Scope, http_only: bool = False):
    def pred(node: ast.AST, name: str) -> bool:
        if not is_network_read(index, node, name, scope):
            return False
        return not (http_only and isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr.startswith("recv"))

    return pred


INTERPRETERS = frozenset(
    "python python3 python2 pythonw py sh bash zsh dash ksh cmd cmd.exe powershell powershell.exe pwsh wscript cscript "
    "mshta msiexec rundll32 regsvr32 node perl ruby java start open xdg-open chmod nohup sudo exec".split()
)

URL = r"(?:https?|ftp)://"
COMMAND_PATTERNS = [
    (re.compile(r"\bpip[0-9.]*(?:\.exe)?\b.*\binstall\b.*(?:" + URL + r"|\bgit\+|--index-url\s+\S+|-i\s+" + URL + r"|--extra-index-url)", re.I | re.S), "pip install from a URL"),
    (re.compile(r"\b(?:curl|wget|fetch)\b[^|;&]*\|\s*(?:sudo\s+)?(?:ba|z|da|k)?sh\b", re.I), "curl/wget piped into a shell"),
    (re.compile(r"\b(?:curl|wget)\b[^|;&]*\|\s*(?:sudo\s+)?python[0-9.]*\b", re.I), "curl/wget piped into python"),
    (re.compile(r"\b(?:curl|wget)\b[^;&|]*(?:-o|-O|--output)\s*(\S+).*?(?:&&|;|\n)\s*(?:chmod\s+\+?x|(?:ba)?sh\s|python[0-9.]*\s|\./)", re.I | re.S), "download then run"),
    (re.compile(r"(?:iex|invoke-expression)\b.*(?:downloadstring|downloadfile|invoke-webrequest|\biwr\b|net\.webclient)|(?:downloadstring|invoke-webrequest|\biwr\b|net\.webclient).*(?:\biex\b|invoke-expression|start-process)", re.I | re.S), "PowerShell download and execute"),
    (re.compile(r"\bcertutil\b.*-urlcache\b.*" + URL, re.I), "certutil download"),
    (re.compile(r"\bbitsadmin\b.*/transfer\b", re.I), "bitsadmin download"),
    (re.compile(r"\bmshta\b\s+" + URL, re.I), "mshta of a URL"),
    (re.compile(r"\b(?:regsvr32|rundll32)\b.*" + URL, re.I), "a remote script run by regsvr32/rundll32"),
    (re.compile(r"\bmsiexec(?:\.exe)?\b.*/(?:i|package)\s*" + URL, re.I), "msiexec of a remote installer"),
    (re.compile(r"(?:urlopen|requests\.get|urllib|urlretrieve)\b.*\b(?:exec|eval)\s*\(|\b(?:exec|eval)\s*\(.*(?:urlopen|requests\.get|urlretrieve)", re.I | re.S), "python code that downloads and executes"),
]


def command_texts(src: SourceFile, site: CallSite) -> list[str]:
    command = process_command(site.node, site.name)
    return [render(facts(src).index, command, site.scope)] if command is not None else []


FILE_OBJECTS = frozenset({"open", "io.open", "codecs.open", "os.fdopen", "tempfile.NamedTemporaryFile", "tempfile.TemporaryFile", "tempfile.SpooledTemporaryFile"})


def _file_opened(index: ModuleIndex, expr: ast.AST, scope: Scope) -> ast.expr | None:
    """What names the file `expr` (a file object) writes to: the path given to `open(p)`/`io.open(p)`, the
    `Path` of `Path(p).open()`, the descriptor of `os.fdopen(fd)`, or the temporary-file object itself."""

    def opened(node: ast.AST, name: str) -> bool:
        return isinstance(node, ast.Call) and (name in FILE_OBJECTS or last_part(name) == "open")

    found = direct(index, expr, scope, opened)
    if not isinstance(found, ast.Call):
        return None
    name = index.resolve(found.func)
    if name in ("open", "io.open", "codecs.open", "os.fdopen"):
        return argument(found, 0, "file")
    if name.startswith("tempfile."):
        return expr if isinstance(expr, ast.expr) else None  # the object: its `.name` is what gets run
    if isinstance(found.func, ast.Attribute):  # Path(p).open("wb")
        return found.func.value
    return None


def downloaded_files(src: SourceFile) -> list[tuple[Scope, ast.expr, int]]:
    """(scope, path expression, line) of files the module writes network data into."""
    index = facts(src).index
    found: list[tuple[Scope, ast.expr, int]] = []
    for site in index.calls:
        call, name = site.node, site.name
        if name in ("urllib.request.urlretrieve", "urllib.urlretrieve", "six.moves.urllib.request.urlretrieve"):
            path = argument(call, 1, "filename")
            if path is not None:
                found.append((site.scope, path, call.lineno))
            continue
        if name == "wget.download":
            found.append((site.scope, argument(call, 1, "out") or call, call.lineno))
            continue
        if name in ("shutil.copyfileobj", "os.write") and len(call.args) >= 2:
            if trace(index, call.args[1 if name == "os.write" else 0], site.scope, _net(index, site.scope, http_only=True)) is not None:
                path = call.args[0] if name == "os.write" else _file_opened(index, call.args[1], site.scope)
                if path is not None:
                    found.append((site.scope, path, call.lineno))
            continue
        if isinstance(call.func, ast.Attribute) and call.func.attr in ("extractall", "extract", "unpack_archive") or name == "shutil.unpack_archive":
            # an archive opened on downloaded bytes (`zipfile.ZipFile(io.BytesIO(r.content)).extractall(d)`)
            archive = call.args[0] if name == "shutil.unpack_archive" and call.args else getattr(call.func, "value", None)
            if archive is not None and trace(index, archive, site.scope, _net(index, site.scope, http_only=True)) is not None:
                target = argument(call, 1, "extract_dir") if name == "shutil.unpack_archive" else (argument(call, 1, "path") if call.func.attr == "extract" else argument(call, 0, "path"))
                if target is not None:
                    found.append((site.scope, target, call.lineno))
            continue
        if not isinstance(call.func, ast.Attribute) or not call.args:
            continue
        method = call.func.attr
        if method not in ("write", "writelines", "write_bytes", "write_text"):
            continue
        if trace(index, call.args[0], site.scope, _net(index, site.scope, http_only=True)) is None:
            continue
        if method in ("write_bytes", "write_text"):
            path = call.func.value
        else:
            path = _file_opened(index, call.func.value, site.scope)
        if path is not None:
            found.append((site.scope, path, call.lineno))
    return found


def _binding(index: ModuleIndex, name: str, scope: Scope) -> tuple[int, str]:
    """Where a variable read in `scope` is bound: the scope itself (an assignment or a parameter), else the module."""
    if (id(scope), name) in index.assignments:
        return (id(scope), name)
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        arguments = scope.args
        if any(a.arg == name for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg) if a is not None):
            return (id(scope), name)
    return (id(index.module), name)


def _bindings(index: ModuleIndex, expr: ast.AST | None, scope: Scope) -> set[tuple[int, str]]:
    """The variables `expr` reads, directly or through the variables they were assigned from."""
    found: set[tuple[int, str]] = set()

    def collect(node: ast.AST, name: str) -> bool:
        if isinstance(node, ast.Name):
            found.add(_binding(index, node.id, scope))
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            found.add((0, f"self.{node.attr}"))
        return False

    trace(index, expr, scope, collect, depth=3)
    return found


def _path_variables(index: ModuleIndex, path: ast.expr, scope: Scope) -> set[tuple[int, str]]:
    """The variable naming a written file, with those unpacked from the same value (`fd, path = mkstemp()`)."""
    if isinstance(path, ast.Attribute) and isinstance(path.value, ast.Name) and path.value.id == "self":
        return {(0, f"self.{path.attr}")}  # an attribute of the object, whichever method sets or reads it
    if not isinstance(path, ast.Name):
        return set()
    key = _binding(index, path.id, scope)
    found = {key}
    values = index.assignments.get(key, [])
    if values:
        for (owner, other), other_values in index.assignments.items():
            if owner == key[0] and other != key[1] and any(v is w for v in values for w in other_values):
                found.add((owner, other))
    return found


def _literal_keys(src: SourceFile, scope: Scope, path: ast.expr) -> set[str]:
    """Literal file names that identify the downloaded file in a later command."""
    texts: set[str] = set()
    for piece in facts(src).index.strings_in(path, scope):
        piece = piece.strip()
        base = re.split(r"[\\/]", piece)[-1]
        if len(base) >= 4 and base not in ("wb", "w+b", "ab"):
            texts.add(base)
        if ("/" in piece or "\\" in piece) and len(piece) >= 6 and base:
            texts.add(piece)
    return texts


def _programs(src: SourceFile, site: CallSite) -> list[tuple[str, ast.expr | None]]:
    """What a process call runs: (text, expression) of the program, and for interpreters (`python x.py`,
    `sh x`, `cmd /c x`) of the script too."""
    index = facts(src).index
    call, name = site.node, site.name
    if name == "os.startfile" or name.startswith(("os.exec", "os.posix_spawn")):
        target = argument(call, 0)
        return [(render(index, target, site.scope), target)]
    if name.startswith("os.spawn"):
        target = argument(call, 1)
        return [(render(index, target, site.scope), target)]
    command = process_command(call, name)
    if command is None:
        return []
    if isinstance(command, ast.Name):
        values = index.values_of(command.id, site.scope)
        if values and isinstance(values[-1], (ast.List, ast.Tuple)):
            command = values[-1]
    segments: list[list[tuple[str, ast.expr | None]]]
    if isinstance(command, (ast.List, ast.Tuple)):
        segments = [[(render(index, e, site.scope), e) for e in command.elts]]
    else:
        # a shell string: words as rendered, and a variable standing alone as a word (`f"{exe} -q"`) as itself
        text = render(index, command, site.scope)
        markers = render(index, command, site.scope, follow=False)
        if len(markers.split()) != len(text.split()):
            markers = text
        segments = []
        for segment, marked in zip(re.split(SHELL_SEPARATORS, text), re.split(SHELL_SEPARATORS, markers)):
            words, marked_words = segment.split(), marked.split()
            if len(words) != len(marked_words):
                marked_words = words
            segments.append([(word, _marker_variable(marker)) for word, marker in zip(words, marked_words)])
    programs: list[tuple[str, ast.expr | None]] = []
    for parts in segments:
        parts = [p for p in parts if p[0]]
        position = 0
        while position < len(parts):
            programs.append(parts[position])
            token = parts[position][0]
            program = re.split(r"[\\/]", token.strip("'\""))[-1].lower()
            if program.endswith(".exe"):
                program = program[:-4]
            if not (program in INTERPRETERS or "sys.executable" in token or program.startswith("python")):
                break
            position += 1
            while position < len(parts) and parts[position][0].startswith(("-", "/", "+")) and len(parts[position][0]) <= 4:
                position += 1  # interpreter flags: -u, /c, +x
            if position < len(parts) and parts[position][0].lower() in ("-file", "-c", "/c", "-jar"):
                position += 1
    return programs


SHELL_SEPARATORS = r"&&|\|\||[;|\n]"


def _marker_variable(word: str) -> ast.expr | None:
    """`{name}` (a variable `render` could not resolve) as a Name expression, else None."""
    found = re.fullmatch(r"['\"]?\{([A-Za-z_][A-Za-z0-9_]*)\}['\"]?", word)
    return ast.Name(id=found.group(1), ctx=ast.Load()) if found else None


def download_then_run(src: SourceFile) -> Iterator[Hit]:
    written = downloaded_files(src)
    if not written:
        return
    index = facts(src).index
    runners: list[tuple[CallSite, list[tuple[str, ast.expr | None]]]] = [(site, _programs(src, site)) for site in facts(src).process_calls]
    loaders = ("runpy.run_path", "ctypes.CDLL", "ctypes.WinDLL", "ctypes.cdll.LoadLibrary", "ctypes.windll.LoadLibrary", "ctypes.LoadLibrary", "importlib.machinery.SourceFileLoader", "importlib.util.spec_from_file_location")
    for site in index.calls_to(*loaders):
        target = argument(site.node, 1) if site.name.endswith(("SourceFileLoader", "spec_from_file_location")) else argument(site.node, 0)
        runners.append((site, [(render(index, target, site.scope), target)]))
    for site in index.calls:  # ShellExecute(hwnd, verb, file, ...), through ctypes or pywin32
        if last_part(site.name) in ("ShellExecuteW", "ShellExecuteA", "ShellExecute", "ShellExecuteEx"):
            target = argument(site.node, 2, "lpFile")
            if target is not None:
                runners.append((site, [(render(index, target, site.scope), target)]))
    for site in facts(src).exec_calls:  # exec(open(path).read())
        path = _file_opened(index, argument(site.node, 0) or site.node, site.scope)
        if path is not None:
            runners.append((site, [(render(index, path, site.scope), path)]))
    for scope, path, line in written:
        written_names = _path_variables(index, path, scope)
        texts = _literal_keys(src, scope, path)
        for site, programs in runners:
            if any(any(t in text for t in texts) or (written_names and written_names & _bindings(index, expr, site.scope)) for text, expr in programs):
                yield Hit(f"the file written from a download at line {line} is run by {site.name or 'exec'}()", node=site.node)
                break


@python_rule(DOWNLOAD_EXEC)
def download_exec(src: SourceFile) -> Iterator[Hit]:
    index = facts(src).index
    reported: set[int] = set()

    def report(hit: Hit) -> Iterator[Hit]:
        line = getattr(hit.node, "lineno", hit.line)
        if line not in reported:
            reported.add(line)
            yield hit

    for site, what, payload in code_sinks(src):
        if payload is None or isinstance(payload, ast.Constant):
            continue
        if what in ("__import__", "importlib.import_module", "builtins.__import__"):
            continue
        source = trace(index, payload, site.scope, _net(index, site.scope))
        if source is not None:
            yield from report(Hit(f"{what}() of data from {index.resolve(source.func) or 'the network'}() (line {source.lineno})", node=site.node))
    for site in facts(src).process_calls:
        command = process_command(site.node, site.name)
        if command is None:
            continue
        source = direct(index, command, site.scope, _net(index, site.scope, http_only=True))
        if source is not None:
            yield from report(Hit(f"{site.name}() runs a command taken from {index.resolve(source.func)}() (line {source.lineno})", node=site.node))
            continue
        for text in command_texts(src, site):
            for pattern, what in COMMAND_PATTERNS:
                if pattern.search(text):
                    yield from report(Hit(f"{site.name}() runs {what}: {short(text)}", node=site.node))
                    break
    for site in index.calls_to("pip.main", "pip._internal.main", "pip._internal.cli.main.main"):
        text = render(index, argument(site.node, 0), site.scope)
        if COMMAND_PATTERNS[0][0].search("pip " + text):
            yield from report(Hit(f"{site.name}() installs from a URL: {short(text)}", node=site.node))
    for hit in download_then_run(src):
        yield from report(hit)
