"""Helpers shared by the persistence, mining, obfuscation, hidden-code, install-time and destructive rules:
what path an expression names, what command line a process call runs, which calls write or read files.

Everything here reads a module's `ModuleIndex`; nothing walks the tree again. Paths are rendered as a
symbolic string: "~" for the home directory (`Path.home()`, `expanduser("~")`, `$HOME`), "$TMP" for the
temporary directory, "$SITE" for site-packages, "?" for a part that cannot be known statically.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator

from plugyard_analysis.pyindex import CallSite, ModuleIndex, Scope, value_nodes

UNKNOWN = "?"
ALT_OPEN, ALT_SEP, ALT_CLOSE = "\x01", "\x02", "\x03"  # "one of these" inside a shape; see expand()

PROCESS_CALLS = frozenset(
    {
        "subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output", "subprocess.Popen",
        "subprocess.getoutput", "subprocess.getstatusoutput", "os.system", "os.popen", "os.startfile",
        "os.execl", "os.execle", "os.execlp", "os.execlpe", "os.execv", "os.execve", "os.execvp", "os.execvpe",
        "os.spawnl", "os.spawnle", "os.spawnlp", "os.spawnlpe", "os.spawnv", "os.spawnve", "os.spawnvp", "os.spawnvpe",
        "os.posix_spawn", "os.posix_spawnp", "asyncio.create_subprocess_shell", "asyncio.create_subprocess_exec",
        "pty.spawn", "commands.getoutput", "commands.getstatusoutput", "sh.Command",
    }
)  # fmt: skip

# calls that run code given as data
EXEC_CALLS = frozenset(
    {"exec", "eval", "compile", "builtins.exec", "builtins.eval", "builtins.compile", "marshal.loads",
     "types.FunctionType", "types.CodeType", "execfile", "runpy.run_path", "code.InteractiveInterpreter.runsource"}
)  # fmt: skip

NETWORK_PREFIXES = (
    "socket.", "ssl.", "urllib.request.", "urllib.urlopen", "urllib2.", "http.client.", "requests.", "httpx.",
    "aiohttp.", "websocket.", "websockets.", "asyncio.open_connection", "ftplib.", "smtplib.", "telnetlib.",
    "paramiko.", "pycurl.", "urllib3.",
)  # fmt: skip

OPEN_CALLS = frozenset({"open", "io.open", "codecs.open", "builtins.open", "os.fdopen"})
HOME_CALLS = frozenset({"pathlib.Path.home", "Path.home", "pathlib.PosixPath.home", "pathlib.WindowsPath.home"})
PASS_THROUGH_CALLS = frozenset(
    {"os.path.expanduser", "os.path.expandvars", "os.path.abspath", "os.path.realpath", "os.path.normpath",
     "os.path.normcase", "pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "pathlib.WindowsPath",
     "pathlib.PurePosixPath", "pathlib.PureWindowsPath", "str", "os.fspath", "bytes", "os.fsencode", "os.fsdecode"}
)  # fmt: skip
TEMP_CALLS = frozenset({"tempfile.gettempdir", "tempfile.mkdtemp", "tempfile.gettempdirb", "tempfile.TemporaryDirectory", "tempfile.mkstemp"})
SITE_CALLS = frozenset({"site.getsitepackages", "site.getusersitepackages", "sysconfig.get_path", "sysconfig.get_paths", "distutils.sysconfig.get_python_lib"})
HOME_VARIABLES = frozenset({"HOME", "USERPROFILE", "HOMEPATH"})
WINDOWS_VARIABLES = {"APPDATA": "~/AppData/Roaming", "LOCALAPPDATA": "~/AppData/Local", "PROGRAMDATA": "C:/ProgramData", "SYSTEMROOT": "C:/Windows", "WINDIR": "C:/Windows", "TEMP": "$TMP", "TMP": "$TMP", "TMPDIR": "$TMP"}
ENV_READS = frozenset({"os.getenv", "os.environ.get", "os.environ.setdefault", "os.getenvb"})


class ModuleFacts:
    """What the index does not keep but flow-following needs: the module's functions by name, the values
    assigned to `self.x` anywhere, and what a function returns. Built once per module, lazily."""

    _cache: dict[int, ModuleFacts] = {}

    def __init__(self, index: ModuleIndex) -> None:
        self.index = index
        self.functions: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
        scopes: dict[int, Scope] = {id(index.module): index.module} if index.module is not None else {}
        for definition in index.definitions:
            scopes[id(definition)] = definition
            if isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions.setdefault(definition.name, []).append(definition)
        self.attributes: dict[str, list[tuple[Scope, ast.expr]]] = {}
        for (scope_id, name), values in index.assignments.items():
            if name.startswith("self.") and scope_id in scopes:
                self.attributes.setdefault(name, []).extend((scopes[scope_id], value) for value in values)
        self._returns: dict[int, list[ast.expr]] = {}

    @classmethod
    def of(cls, index: ModuleIndex) -> ModuleFacts:
        facts = cls._cache.get(id(index))
        if facts is None or facts.index is not index:
            if len(cls._cache) > 8:
                cls._cache.clear()
            facts = cls._cache[id(index)] = cls(index)
        return facts

    def callee(self, call: ast.Call) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
        """The module's own functions a call may reach: `helper(...)`, `self.helper(...)`, `cls.helper(...)`."""
        func = call.func
        if isinstance(func, ast.Name):
            return self.functions.get(func.id, [])
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"):
            return self.functions.get(func.attr, [])
        return []

    def returns(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.expr]:
        found = self._returns.get(id(function))
        if found is None:
            found = []
            stack: list[ast.AST] = list(function.body)
            while stack and len(found) < 20:
                node = stack.pop()
                if isinstance(node, ast.Return) and node.value is not None:
                    found.append(node.value)
                elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                    stack.extend(ast.iter_child_nodes(node))
            self._returns[id(function)] = found
        return found


def derives(index: ModuleIndex, expr: ast.AST | None, scope: Scope, is_source: Callable[[CallSite], bool], depth: int = 5) -> CallSite | None:
    """Like `ModuleIndex.derives_from`, and also through the module's own helpers (`self._raw()`, `load(name)`:
    what they return) and attributes (`self.raw`, set in another method). Each value is followed once: a
    variable reassigned many times in one function would otherwise make the search exponential."""
    facts = ModuleFacts.of(index)
    seen: set[int] = set()
    budget = [5000]

    def search(node: ast.AST | None, where: Scope, level: int) -> CallSite | None:
        if node is None or level < 0:
            return None
        for part in value_nodes(node):
            budget[0] -= 1
            if budget[0] < 0:
                return None
            followed: list[tuple[Scope, ast.AST]] = []
            if isinstance(part, ast.Call):
                site = CallSite(index.resolve(part.func), part, where)
                if is_source(site):
                    return site
                if level > 0:
                    followed = [(function, value) for function in facts.callee(part) for value in facts.returns(function)]
            elif isinstance(part, ast.Name) and level > 0:
                followed = [(where, value) for value in index.values_of(part.id, where)]
            elif isinstance(part, ast.Attribute) and level > 0 and isinstance(part.value, ast.Name) and part.value.id == "self":
                followed = facts.attributes.get(f"self.{part.attr}", [])
            for next_scope, value in followed:
                if id(value) in seen:
                    continue
                seen.add(id(value))
                found = search(value, next_scope, level - 1)
                if found is not None:
                    return found
        return None

    return search(expr, scope, depth)


def call_arg(call: ast.Call, position: int, keyword: str | None = None) -> ast.expr | None:
    """The argument at `position`, or the keyword argument `keyword`."""
    if keyword is not None:
        for kw in call.keywords:
            if kw.arg == keyword:
                return kw.value
    if position < len(call.args) and not isinstance(call.args[position], ast.Starred):
        return call.args[position]
    return None


def constant_str(expr: ast.AST | None) -> str | None:
    if isinstance(expr, ast.Constant):
        if isinstance(expr.value, str):
            return expr.value
        if isinstance(expr.value, bytes):
            return expr.value.decode("latin-1")
    return None


def _env_name(index: ModuleIndex, node: ast.AST, scope: Scope) -> str | None:
    """`os.environ["HOME"]`, `os.getenv("HOME")`, `os.environ.get("HOME")` -> "HOME"."""
    if isinstance(node, ast.Subscript) and index.resolve(node.value) == "os.environ":
        return constant_str(node.slice)
    if isinstance(node, ast.Call) and index.resolve(node.func) in ENV_READS:
        return constant_str(call_arg(node, 0))
    return None


def _env_path(name: str) -> str:
    upper = name.upper()
    if upper in HOME_VARIABLES:
        return "~"
    return WINDOWS_VARIABLES.get(upper, f"${upper}")


def path_shape(index: ModuleIndex, expr: ast.AST | None, scope: Scope, depth: int = 3) -> str | None:
    """The path (or command text) `expr` evaluates to, with "?" for unknown parts; None when nothing is known."""
    if expr is None or depth < 0:
        return None
    value = constant_str(expr)
    if value is not None:
        return value
    if isinstance(expr, ast.JoinedStr):
        parts = []
        for part in expr.values:
            if isinstance(part, ast.FormattedValue):
                parts.append(path_shape(index, part.value, scope, depth - 1) or UNKNOWN)
            else:
                parts.append(constant_str(part) or "")
        return "".join(parts)
    if isinstance(expr, ast.Name):
        if expr.id == "__file__":
            return "$PLUGIN/__file__"
        if depth > 0:
            for assigned in reversed(index.values_of(expr.id, scope)):
                if assigned is expr:
                    continue
                choices = _choices(index, assigned, scope, depth - 1)
                if choices is not None:
                    return choices
                shape = path_shape(index, assigned, scope, depth - 1)
                if shape is not None:
                    return shape
        return None
    if isinstance(expr, ast.Attribute):
        if expr.attr == "parent":  # Path(__file__).parent
            inner = path_shape(index, expr.value, scope, depth)
            return f"{inner}/.." if inner is not None else None
        name = index.resolve(expr)
        if name in ("os.sep", "os.path.sep", "os.altsep"):
            return "/"
        if name in ("site.USER_SITE", "site.PREFIXES"):
            return "$SITE"
        if name in ("sys.prefix", "sys.base_prefix", "sys.exec_prefix", "sys.base_exec_prefix"):
            return "$PREFIX"
        if name == "os.curdir":
            return "."
        if name.startswith("self.") and depth > 0:
            for (_, var), values in list(index.assignments.items()):
                if var != name:
                    continue
                for assigned in reversed(values):
                    shape = path_shape(index, assigned, scope, depth - 1)
                    if shape is not None:
                        return shape
        return None
    env = _env_name(index, expr, scope)
    if env is not None:
        return _env_path(env)
    if isinstance(expr, ast.BinOp):
        left = path_shape(index, expr.left, scope, depth)
        right = path_shape(index, expr.right, scope, depth)
        if left is None and right is None:
            return None
        if isinstance(expr.op, ast.Div):
            return join_path(left or UNKNOWN, right or UNKNOWN)
        if isinstance(expr.op, ast.Add):
            return (left or UNKNOWN) + (right or UNKNOWN)
        if isinstance(expr.op, ast.Mod) and left is not None:
            return re.sub(r"%[-#0 +]*\d*(?:\.\d+)?[sdrif]", UNKNOWN, left)
        return None
    if isinstance(expr, ast.Call):
        return _call_shape(index, expr, scope, depth)
    if isinstance(expr, ast.IfExp):
        body = path_shape(index, expr.body, scope, depth)
        orelse = path_shape(index, expr.orelse, scope, depth)
        if body is not None and orelse is not None and body != orelse and ALT_OPEN not in body + orelse:
            return ALT_OPEN + body.replace(ALT_SEP, "") + ALT_SEP + orelse.replace(ALT_SEP, "") + ALT_CLOSE
        return body if body is not None else orelse
    if isinstance(expr, ast.Subscript):
        # site.getsitepackages()[0], sysconfig.get_paths()["purelib"]: an element of a list of paths
        inner = path_shape(index, expr.value, scope, depth - 1)
        return inner if inner in ("$SITE", "$PREFIX") else None
    return None


def _choices(index: ModuleIndex, expr: ast.AST, scope: Scope, depth: int) -> str | None:
    """`for name in (".bashrc", ".zshrc")`: the loop variable is one of the elements, kept as alternatives."""
    if isinstance(expr, (ast.Tuple, ast.List, ast.Set)) and 0 < len(expr.elts) <= 16:
        values = [path_shape(index, element, scope, depth) for element in expr.elts]
        if any(value is not None for value in values):
            options = [(value or UNKNOWN) for value in values]
            if any(ALT_OPEN in option for option in options):
                return next(option for option in options if option != UNKNOWN)
            return ALT_OPEN + ALT_SEP.join(option.replace(ALT_SEP, "") for option in options) + ALT_CLOSE
    return None


def expand(shape: str | None, limit: int = 64) -> list[str]:
    """Every path a shape with alternatives (from a loop over constants) can be."""
    if shape is None:
        return []
    results = [""]
    for piece in re.split(f"({ALT_OPEN}[^{ALT_CLOSE}]*{ALT_CLOSE})", shape):
        if piece.startswith(ALT_OPEN):
            options = piece[1:-1].split(ALT_SEP)
            results = [r + o for r in results for o in options][:limit]
        else:
            results = [r + piece for r in results]
    return results


def show(shape: str | None, limit: int = 120) -> str:
    """A shape for a message: its alternatives joined with " or "."""
    if shape is None:
        return UNKNOWN
    if ALT_OPEN not in shape:
        return shape[:limit]
    return re.sub(f"{ALT_OPEN}([^{ALT_CLOSE}]*){ALT_CLOSE}", lambda m: "{" + m.group(1).replace(ALT_SEP, " | ") + "}", shape)[:limit]


def _call_shape(index: ModuleIndex, call: ast.Call, scope: Scope, depth: int) -> str | None:
    name = index.resolve(call.func)
    helpers = ModuleFacts.of(index).callee(call) if depth > 0 else []
    if helpers:
        return _helper_shape(index, call, helpers, scope, depth)
    if name in HOME_CALLS or name.endswith("Path.home"):
        return "~"
    if name in TEMP_CALLS:
        return "$TMP"
    if name in SITE_CALLS:
        return "$SITE"
    if name in ("os.getcwd", "pathlib.Path.cwd"):
        return "$CWD"
    if name == "os.path.join" or (name in PASS_THROUGH_CALLS and len(call.args) > 1):
        parts = [path_shape(index, arg, scope, depth) for arg in call.args]
        if all(part is None for part in parts):
            return None
        return join_path(*(part or UNKNOWN for part in parts))
    if name in PASS_THROUGH_CALLS:
        return path_shape(index, call_arg(call, 0), scope, depth)
    if name in ("os.path.dirname", "os.path.basename"):
        inner = path_shape(index, call_arg(call, 0), scope, depth)
        return f"{inner}/.." if inner is not None and name.endswith("dirname") else None
    if isinstance(call.func, ast.Attribute):
        attr = call.func.attr
        if attr in ("expanduser", "resolve", "absolute", "expandvars", "as_posix", "__fspath__"):
            return path_shape(index, call.func.value, scope, depth)
        if attr == "with_name" and call.args:
            return join_path(path_shape(index, call.func.value, scope, depth) or UNKNOWN, "..", path_shape(index, call.args[0], scope, depth) or UNKNOWN)
        if attr == "with_suffix" and call.args:
            base = path_shape(index, call.func.value, scope, depth) or UNKNOWN
            return re.sub(r"\.[^./]*$", "", base) + (path_shape(index, call.args[0], scope, depth) or "")
        if attr == "joinpath":
            base = path_shape(index, call.func.value, scope, depth)
            parts = [path_shape(index, arg, scope, depth) for arg in call.args]
            if base is None and all(part is None for part in parts):
                return None
            return join_path(base or UNKNOWN, *(part or UNKNOWN for part in parts))
        if attr == "format":
            template = path_shape(index, call.func.value, scope, depth)
            return re.sub(r"\{[^{}]*\}", UNKNOWN, template) if template is not None else None
        if attr == "join" and isinstance(call.func.value, ast.Constant) and isinstance(call.func.value.value, str):
            items = sequence_items(index, call_arg(call, 0), scope)
            if items is not None:
                return call.func.value.value.join(path_shape(index, item, scope, depth) or UNKNOWN for item in items)
    return None


def _helper_shape(index: ModuleIndex, call: ast.Call, helpers: list, scope: Scope, depth: int) -> str | None:
    """`asset("logo.png")` where `def asset(name): return os.path.join(HERE, "assets", name)`: the helper's
    returned path, its trailing unknown part replaced by the file-name argument the call passes."""
    facts = ModuleFacts.of(index)
    names = [value for value in (constant_str(arg) for arg in call.args) if value and re.fullmatch(r"[\w.-]+\.[A-Za-z0-9]{1,8}", value)]
    for helper in helpers:
        for returned in facts.returns(helper):
            shape = path_shape(index, returned, helper, depth - 1)
            if shape is None:
                continue
            if names and shape.endswith(UNKNOWN):
                return shape[: -len(UNKNOWN)] + names[-1]
            return shape
    return join_path(UNKNOWN, names[-1]) if names else None


def join_path(*parts: str) -> str:
    out = ""
    for part in parts:
        if not out:
            out = part
        elif part.startswith(("/", "~")) or re.match(r"^[A-Za-z]:[\\/]", part):
            out = part  # an absolute part restarts the path, as os.path.join does
        else:
            out = out.rstrip("/\\") + "/" + part
    return out


def normalise_path(shape: str) -> str:
    """Lower-case, '/'-separated, home spelled '~', no doubled or trailing separators."""
    text = shape.replace("\\", "/")
    text = re.sub(r"\$\{?home\}?|%userprofile%|%homepath%", "~", text, flags=re.I)
    text = re.sub(r"%appdata%", "~/AppData/Roaming", text, flags=re.I)
    text = re.sub(r"%localappdata%", "~/AppData/Local", text, flags=re.I)
    text = re.sub(r"/{2,}", "/", text)
    text = text.lower()
    if len(text) > 1:
        text = text.rstrip("/")
    return text


def sequence_items(index: ModuleIndex, expr: ast.AST | None, scope: Scope, depth: int = 2) -> list[ast.expr] | None:
    """The elements of a list/tuple literal (or a variable assigned one)."""
    if isinstance(expr, (ast.List, ast.Tuple)):
        items: list[ast.expr] = []
        for element in expr.elts:
            if isinstance(element, ast.Starred):
                inner = sequence_items(index, element.value, scope, depth - 1) if depth > 0 else None
                items.extend(inner or [element])
            else:
                items.append(element)
        return items
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        left = sequence_items(index, expr.left, scope, depth)
        right = sequence_items(index, expr.right, scope, depth)
        if left is not None or right is not None:
            return (left or [expr.left]) + (right or [expr.right])
    if isinstance(expr, ast.Name) and depth > 0:
        for assigned in reversed(index.values_of(expr.id, scope)):
            items = sequence_items(index, assigned, scope, depth - 1)
            if items is not None:
                return items
    return None


def command_text(index: ModuleIndex, call: CallSite) -> str:
    """The command line a process-starting call runs, as well as can be known ("?" for unknown words)."""
    node = call.node
    args: list[ast.expr] = list(node.args)
    for kw in node.keywords:
        if kw.arg in ("args", "cmd", "command"):
            args.insert(0, kw.value)
    words: list[str] = []
    for position, arg in enumerate(args):
        if position == 0 and call.name.startswith("os.spawn"):
            continue  # the mode
        if isinstance(arg, ast.Starred):
            words.append(UNKNOWN)
            continue
        items = sequence_items(index, arg, call.scope)
        if items is not None:
            words.extend(path_shape(index, item, call.scope) or UNKNOWN for item in items)
        else:
            words.append(path_shape(index, arg, call.scope) or UNKNOWN)
    return " ".join(words)


def process_calls(index: ModuleIndex) -> Iterator[tuple[CallSite, str]]:
    """Every call that starts a process, with its command text."""
    uses_sh = "sh" in index.imported_modules
    for call in index.calls:
        if call.name in PROCESS_CALLS or (uses_sh and call.name.startswith("sh.")):
            if call.name.startswith("sh.") and call.name != "sh.Command":
                yield call, call.name[3:] + " " + " ".join(path_shape(index, a, call.scope) or UNKNOWN for a in call.node.args)
            else:
                yield call, command_text(index, call)


WRITE_MODE = re.compile(r"[wax+]")
OS_OPEN_WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_APPEND", "O_CREAT", "O_TRUNC")
COPY_CALLS = frozenset({"shutil.copy", "shutil.copy2", "shutil.copyfile", "shutil.move", "shutil.copytree", "os.rename", "os.replace", "os.symlink", "os.link", "distutils.file_util.copy_file"})


def _mode(call: ast.Call, position: int, index: ModuleIndex | None = None, scope: Scope | None = None) -> str | None:
    """The constant open mode, also through a variable (`mode = "a"; open(p, mode)`)."""
    expr = call_arg(call, position, "mode")
    if isinstance(expr, ast.Name) and index is not None and scope is not None:
        values = [constant_str(v) for v in index.values_of(expr.id, scope)]
        return next((v for v in reversed(values) if v is not None), None)
    return constant_str(expr)


def file_writes(index: ModuleIndex) -> Iterator[tuple[CallSite, ast.expr]]:
    """Calls that create or change a file, with the expression naming that file."""
    for call in index.calls:
        node = call.node
        name = call.name
        if name in OPEN_CALLS and name != "os.fdopen":
            mode = _mode(node, 1, index, call.scope)
            target = call_arg(node, 0, "file")
            if mode is not None and WRITE_MODE.search(mode) and target is not None:
                yield call, target
        elif name == "os.open":
            flags = call_arg(node, 1, "flags")
            target = call_arg(node, 0, "path")
            if flags is not None and target is not None and any(
                isinstance(n, ast.Attribute) and n.attr in OS_OPEN_WRITE_FLAGS for n in ast.walk(flags)
            ):
                yield call, target
        elif name in COPY_CALLS:
            target = call_arg(node, 1, "dst")
            if target is not None:
                yield call, target
        elif isinstance(node.func, ast.Attribute):
            attr = node.func.attr
            if attr in ("write_text", "write_bytes"):
                yield call, node.func.value
            elif attr == "open" and name not in ("tarfile.open", "zipfile.open", "gzip.open", "bz2.open", "lzma.open", "webbrowser.open"):
                mode = _mode(node, 0, index, call.scope)
                if mode is not None and len(mode) <= 3 and WRITE_MODE.search(mode) and set(mode) <= set("rwaxbt+"):
                    yield call, node.func.value
            elif attr in ("symlink_to", "hardlink_to"):
                yield call, node.func.value  # the link is the file created
            elif attr in ("rename", "copy", "move") and len(node.args) == 1 and not node.keywords:
                yield call, node.args[0]  # Path.rename(target) / Path.copy(target): the target is written


READ_ATTRS = frozenset({"read_text", "read_bytes"})
RESOURCE_READS = frozenset(
    {"pkgutil.get_data", "importlib.resources.read_text", "importlib.resources.read_binary", "importlib.resources.open_text",
     "importlib.resources.open_binary", "importlib_resources.read_text", "importlib_resources.read_binary",
     "pkg_resources.resource_string", "pkg_resources.resource_stream", "pkg_resources.resource_filename"}
)  # fmt: skip


def read_path_expr(index: ModuleIndex, call: ast.Call) -> ast.expr | None:
    """When `call` reads a file, the expression naming it (else None)."""
    name = index.resolve(call.func)
    if name in OPEN_CALLS and name != "os.fdopen":
        mode = _mode(call, 1)
        if mode is None or not WRITE_MODE.search(mode):
            return call_arg(call, 0, "file")
        return None
    if name in RESOURCE_READS:
        return call_arg(call, 1, "resource") or call_arg(call, 1)
    if name in ("PIL.Image.open", "Image.open", "imageio.imread", "cv2.imread", "numpy.fromfile", "numpy.load"):
        return call_arg(call, 0)
    if isinstance(call.func, ast.Attribute):
        if call.func.attr in READ_ATTRS:
            return call.func.value
        if call.func.attr == "open" and name not in ("tarfile.open", "zipfile.open", "webbrowser.open"):
            mode = _mode(call, 0)
            if (mode is None and not call.args) or (mode is not None and not WRITE_MODE.search(mode) and set(mode) <= set("rbt")):
                return call.func.value
    return None


def file_name_of(shape: str | None) -> str | None:
    """The last path component of a shape, lower-cased (of its first alternative)."""
    names = file_names_of(shape)
    return names[0] if names else None


def file_names_of(shape: str | None) -> list[str]:
    """The last path component of each alternative of a shape, lower-cased."""
    return [normalise_path(path).rsplit("/", 1)[-1] for path in expand(shape)]


def is_network_call(name: str) -> bool:
    return name.startswith(NETWORK_PREFIXES)
