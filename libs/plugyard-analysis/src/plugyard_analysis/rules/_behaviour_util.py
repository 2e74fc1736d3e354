"""Shared helpers of the execution, network-abuse and credential rules (not a rule module: it registers nothing).

Everything here reads a module's `ModuleIndex`; the only tree walks are bounded walks over single
expressions (a sink's arguments and the variables they were assigned from).

- `trace(index, expr, scope, pred)`: the first node `expr`'s value is computed from that satisfies `pred`,
  following sub-expressions and variables assigned in the same scope (or at module level);
- `direct(index, expr, scope, pred)`: the same, but only through value-preserving steps (variables, method
  chains such as `.decode().strip()`, subscripts, `await`), not through formatting or other calls' arguments;
- `render(index, expr, scope)`: an approximation of the text a string expression builds, unknown parts
  shown as `{name}` (a variable) or `{?}`, used to match shell commands;
- `facts(src)`: per-module facts computed once (code strings without docstrings, network sends, ...).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from plugyard_analysis.pyindex import CallSite, ModuleIndex, Scope, StringConstant
from plugyard_analysis.sources import SourceFile

NodePredicate = Callable[[ast.AST, str], bool]  # (node, resolved call name or "" for non-calls)

TRACE_BUDGET = 3000  # nodes visited by one trace at most

# --- walking values -------------------------------------------------------------------------------------


def trace(index: ModuleIndex, expr: ast.AST | None, scope: Scope, pred: NodePredicate, depth: int = 4, across_functions: bool = True) -> ast.AST | None:
    """The first node `expr` is computed from for which `pred(node, call_name)` holds: `expr` itself, its
    sub-expressions, the values assigned to the variables it reads (in their scope, else at module level;
    `self.x` in any method), and, within the module, what a called function returns and what callers pass
    for a parameter. Each of these steps uses one unit of `depth`."""
    if expr is None:
        return None
    stack: list[tuple[ast.AST, int, Scope]] = [(expr, depth, scope)]
    followed: set[tuple[int, str]] = set()
    entered: set[int] = set()
    graph: CallGraph | None = None
    budget = TRACE_BUDGET
    while stack and budget > 0:
        node, level, where = stack.pop()
        budget -= 1
        name = index.resolve(node.func) if isinstance(node, ast.Call) else ""
        if pred(node, name):
            return node
        if isinstance(node, ast.Lambda):
            continue
        if level > 0:
            variable = _variable(node)
            if variable is not None and (id(where), variable) not in followed:
                followed.add((id(where), variable))
                values = index.values_of(variable, where)
                if values:
                    stack.extend((value, level - 1, where) for value in values)
                elif across_functions:
                    graph = graph or call_graph(index)
                    stack.extend((value, level - 1, owner) for value, owner in graph.unbound_values(variable, where))
            elif isinstance(node, ast.Call) and across_functions:
                graph = graph or call_graph(index)
                callee = graph.local_function(node.func, where)
                if callee is not None and id(callee) not in entered:
                    entered.add(id(callee))
                    stack.extend((value, level - 1, callee) for value in graph.returns(callee))
        stack.extend((child, level, where) for child in ast.iter_child_nodes(node) if not isinstance(child, (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)))
    return None


class CallGraph:
    """The module's own functions: what they return, who calls them, and `self.x` assignments in any method."""

    def __init__(self, index: ModuleIndex) -> None:
        self.index = index
        self.functions: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
        for node in index.definitions:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions.setdefault(node.name, []).append(node)
        self._returns: dict[int, list[ast.expr]] = {}
        self._callers: dict[str, list[CallSite]] | None = None
        self._self_values: dict[str, list[tuple[ast.expr, Scope]]] | None = None

    def local_function(self, func: ast.AST, scope: Scope | None = None) -> ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | None:
        """The module's function a call goes to: `helper(...)`, `self.helper(...)`, `cls.helper(...)`, or a
        lambda assigned to a name (`rot = lambda s: ...`)."""
        if isinstance(func, ast.Name) and func.id not in self.index.imports:
            found = self.functions.get(func.id)
            if not found and scope is not None:
                values = self.index.values_of(func.id, scope)
                if len(values) == 1 and isinstance(values[0], ast.Lambda):
                    return values[0]
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"):
            found = self.functions.get(func.attr)
        else:
            return None
        return found[0] if found and len(found) == 1 else None

    def returns(self, function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> list[ast.expr]:
        """The values of the function's own return statements (not those of functions nested in it)."""
        if isinstance(function, ast.Lambda):
            return [function.body]
        cached = self._returns.get(id(function))
        if cached is None:
            cached = []
            stack: list[ast.AST] = list(function.body)
            while stack and len(stack) < 5000:
                node = stack.pop()
                if isinstance(node, ast.Return) and node.value is not None:
                    cached.append(node.value)
                elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.expr)):
                    stack.extend(ast.iter_child_nodes(node))
            self._returns[id(function)] = cached
        return cached

    def callers(self, name: str) -> list[CallSite]:
        if self._callers is None:
            grouped: dict[str, list[CallSite]] = {}
            for site in self.index.calls:
                func = site.node.func
                if isinstance(func, ast.Name):
                    grouped.setdefault(func.id, []).append(site)
                elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"):
                    grouped.setdefault(func.attr, []).append(site)
            self._callers = grouped
        return self._callers.get(name, [])

    def unbound_values(self, variable: str, scope: Scope) -> list[tuple[ast.expr, Scope]]:
        """Values for a variable with no assignment in its scope: `self.x` set in another method, or a
        parameter, from what the module's callers pass for it."""
        if variable.startswith("self."):
            if self._self_values is None:
                owners: dict[int, Scope] = {id(d): d for d in self.index.definitions}
                table: dict[str, list[tuple[ast.expr, Scope]]] = {}
                for (owner, var), values in self.index.assignments.items():
                    if var.startswith("self.") and owner in owners:
                        table.setdefault(var, []).extend((v, owners[owner]) for v in values)
                self._self_values = table
            return self._self_values.get(variable, [])
        if not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return []
        parameters = [a.arg for a in (*scope.args.posonlyargs, *scope.args.args)]
        keyword_only = {a.arg for a in scope.args.kwonlyargs}
        if variable not in parameters and variable not in keyword_only:
            return []
        position = parameters.index(variable) if variable in parameters else None
        found: list[tuple[ast.expr, Scope]] = []
        for site in self.callers(scope.name)[:20]:
            call = site.node
            offset = 1 if parameters[:1] in (["self"], ["cls"]) and isinstance(call.func, ast.Attribute) else 0
            value = next((kw.value for kw in call.keywords if kw.arg == variable), None)
            if value is None and position is not None and 0 <= position - offset < len(call.args):
                candidate = call.args[position - offset]
                value = None if isinstance(candidate, ast.Starred) else candidate
            if value is not None:
                found.append((value, site.scope))
        return found


_GRAPHS: dict[int, CallGraph] = {}


def call_graph(index: ModuleIndex) -> CallGraph:
    graph = _GRAPHS.get(id(index))
    if graph is not None and graph.index is index:
        return graph
    if len(_GRAPHS) >= 64:
        _GRAPHS.clear()
    graph = _GRAPHS[id(index)] = CallGraph(index)
    return graph


def _variable(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return f"self.{node.attr}"
    return None


# methods that pass their receiver's data on (so `resp.read().decode().strip()` is still the response)
PASS_THROUGH_METHODS = frozenset(
    "decode encode strip rstrip lstrip read readline readlines text content json get split splitlines lower upper "
    "replace recv recv_into recvfrom getvalue iter_content iter_lines raw body data".split()
)


def direct(index: ModuleIndex, expr: ast.AST | None, scope: Scope, pred: NodePredicate, depth: int = 4) -> ast.AST | None:
    """Like `trace`, but only through steps that keep the value (variables, `self.x` set in any method,
    `x.attr`, `x.method()` for a data-preserving method, `x[...]`, `await x`, `str(x)`), so a command *built
    around* a value does not count."""
    stack: list[tuple[ast.AST | None, int, Scope]] = [(expr, depth, scope)]
    followed: set[tuple[int, str]] = set()
    budget = 400
    while stack and budget > 0:
        node, level, where = stack.pop()
        budget -= 1
        if node is None:
            continue
        name = index.resolve(node.func) if isinstance(node, ast.Call) else ""
        if pred(node, name):
            return node
        variable = _variable(node)
        if variable is not None:
            if level > 0 and (id(where), variable) not in followed:
                followed.add((id(where), variable))
                values = index.values_of(variable, where)
                if values:
                    stack.extend((value, level - 1, where) for value in values)
                elif variable.startswith("self."):
                    stack.extend((value, level - 1, owner) for value, owner in call_graph(index).unbound_values(variable, where))
        elif isinstance(node, (ast.Attribute, ast.Subscript, ast.Await)):
            stack.append((node.value, level, where))
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in PASS_THROUGH_METHODS:
                stack.append((node.func.value, level, where))
            elif name in ("str", "bytes", "bytearray") and node.args:
                stack.append((node.args[0], level, where))
            elif level > 0:  # what a helper of the module returns (`session().get(...)`)
                graph = call_graph(index)
                callee = graph.local_function(node.func, where)
                if callee is not None and ("call", id(callee)) not in followed:
                    followed.add(("call", id(callee)))  # type: ignore[arg-type]
                    stack.extend((value, level - 1, callee) for value in graph.returns(callee))
    return None


def render(index: ModuleIndex, expr: ast.AST | None, scope: Scope, depth: int = 4, follow: bool = True) -> str:
    """The text a string-building expression yields, as far as it is known: literals as they are, unknown
    variables (all variables when not `follow`) as `{name}`, anything else as `{?}`. Lists and tuples (argv)
    render space-separated."""
    if expr is None:
        return ""
    if not follow:
        depth = 0
    if isinstance(expr, ast.Constant):
        if isinstance(expr.value, str):
            return expr.value
        if isinstance(expr.value, bytes):
            return expr.value.decode("latin-1")
        return str(expr.value)
    if isinstance(expr, ast.JoinedStr):
        return "".join(render(index, part, scope, depth) for part in expr.values)
    if isinstance(expr, ast.FormattedValue):
        return render(index, expr.value, scope, depth)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        return render(index, expr.left, scope, depth) + render(index, expr.right, scope, depth)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mod):
        template = render(index, expr.left, scope, depth)
        values = [render(index, e, scope, depth) for e in (expr.right.elts if isinstance(expr.right, ast.Tuple) else [expr.right])]
        if template.count("%") - 2 * template.count("%%") == len(values):
            pieces = iter(values)
            return PERCENT_FIELD.sub(lambda m: "%" if m.group(0) == "%%" else next(pieces, "{?}"), template)
        return template + " " + " ".join(values)
    if isinstance(expr, (ast.List, ast.Tuple)):
        return " ".join(render(index, element, scope, depth) for element in expr.elts)
    if isinstance(expr, ast.Name):
        values = index.values_of(expr.id, scope) if depth > 0 else []
        if values:
            text = render(index, values[-1], scope, depth - 1)
            if text.replace("{?}", "").strip():
                return text
        default = _parameter_default(scope, expr.id) if depth > 0 else None
        if default is not None:  # def exfil(data, zone="x.example"): ...
            text = render(index, default, scope, depth - 1)
            if text.replace("{?}", "").strip():
                return text
        return "{" + expr.id + "}"
    if isinstance(expr, ast.Attribute):
        name = index.resolve(expr)
        if depth > 0 and isinstance(expr.value, ast.Name) and expr.value.id == "self":  # self.zone set in __init__
            values = index.values_of(name, scope) or [v for v, _ in call_graph(index).unbound_values(name, scope)]
            if values:
                text = render(index, values[-1], scope, depth - 1)
                if text.replace("{?}", "").strip():
                    return text
        return "{" + name + "}" if name else "{?}"
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
        method = expr.func.attr
        if index.resolve(expr.func) in ("os.path.join", "posixpath.join", "ntpath.join"):
            return "/".join(render(index, a, scope, depth) for a in expr.args)
        if method == "format":
            template = render(index, expr.func.value, scope, depth)
            positional = [render(index, a, scope, depth) for a in expr.args]
            named = {kw.arg: render(index, kw.value, scope, depth) for kw in expr.keywords if kw.arg}
            counter = iter(range(len(positional)))

            def field(match: re.Match[str]) -> str:
                key = match.group(1).split("!")[0].split(":")[0]
                if key == "":
                    position = next(counter, None)
                    return positional[position] if position is not None else "{?}"
                if key.isdigit():
                    return positional[int(key)] if int(key) < len(positional) else "{?}"
                return named.get(key, "{?}")

            return FORMAT_FIELD.sub(field, template)
        if method == "join" and expr.args:
            separator = render(index, expr.func.value, scope, depth)
            inner = expr.args[0]
            if isinstance(inner, ast.Name) and depth > 0:
                values = index.values_of(inner.id, scope)
                if values and isinstance(values[-1], (ast.List, ast.Tuple)):
                    inner = values[-1]
            if isinstance(inner, (ast.List, ast.Tuple)):
                return separator.join(render(index, e, scope, depth) for e in inner.elts)
            return render(index, inner, scope, depth)
        if method == "get" and len(expr.args) >= 2:  # os.environ.get("ZONE", "x.example"), settings.get(k, default)
            return render(index, expr.args[1], scope, depth)
        if method in ("strip", "lower", "upper", "encode", "decode", "replace"):
            return render(index, expr.func.value, scope, depth)
    if isinstance(expr, ast.Call) and index.resolve(expr.func) in ("str", "pathlib.Path", "os.fspath", "shlex.quote"):
        return render(index, expr.args[0], scope, depth) if expr.args else ""
    if isinstance(expr, ast.Call) and index.resolve(expr.func) == "os.getenv" and len(expr.args) >= 2:
        return render(index, expr.args[1], scope, depth)
    if isinstance(expr, ast.Call) and index.resolve(expr.func) in ("urllib.parse.urljoin", "urlparse.urljoin") and len(expr.args) >= 2:
        return render(index, expr.args[0], scope, depth) + render(index, expr.args[1], scope, depth).lstrip("/")
    if isinstance(expr, ast.Subscript) and depth > 0:  # CONFIG["hook_id"] of a dict literal
        key = constant_str(expr.slice)
        container = expr.value
        if key is not None and isinstance(container, ast.Name):
            values = index.values_of(container.id, scope)
            if values and isinstance(values[-1], ast.Dict):
                for k, v in zip(values[-1].keys, values[-1].values):
                    if constant_str(k) == key:
                        return render(index, v, scope, depth - 1)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div):  # Path / "name"
        return render(index, expr.left, scope, depth) + "/" + render(index, expr.right, scope, depth)
    return "{?}"


def _parameter_default(scope: Scope, name: str) -> ast.expr | None:
    if not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        return None
    arguments = scope.args
    positional = [*arguments.posonlyargs, *arguments.args]
    defaults = dict(zip([a.arg for a in positional][len(positional) - len(arguments.defaults):], arguments.defaults))
    defaults.update({a.arg: d for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults) if d is not None})
    return defaults.get(name)


FORMAT_FIELD = re.compile(r"\{([^{}]*)\}")
PERCENT_FIELD = re.compile(r"%%|%(?:\([^)]*\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?[sdirxXfFeEgGcaob]")


def argument(call: ast.Call, position: int, keyword: str | None = None) -> ast.expr | None:
    if keyword is not None:
        for kw in call.keywords:
            if kw.arg == keyword:
                return kw.value
    if len(call.args) > position and not isinstance(call.args[position], ast.Starred):
        return call.args[position]
    return None


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def all_arguments(call: ast.Call) -> list[ast.expr]:
    return [*call.args, *(kw.value for kw in call.keywords)]


def constant_str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def last_part(name: str) -> str:
    return name.rsplit(".", 1)[-1]


# --- what calls do ----------------------------------------------------------------------------------------

EXEC_BUILTINS = frozenset({"exec", "eval", "builtins.exec", "builtins.eval", "__builtins__.exec", "__builtins__.eval", "__builtin__.exec", "__builtin__.eval"})
COMPILE_BUILTINS = frozenset({"compile", "builtins.compile", "__builtins__.compile", "__builtin__.compile"})

PROCESS_CALLS = frozenset(
    {
        "os.system", "os.popen", "os.popen2", "os.popen3", "os.startfile", "os.posix_spawn", "os.posix_spawnp",
        "subprocess.Popen", "subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output",
        "subprocess.getoutput", "subprocess.getstatusoutput", "commands.getoutput", "commands.getstatusoutput",
        "asyncio.create_subprocess_exec", "asyncio.create_subprocess_shell", "pty.spawn", "platform.popen",
        "popen2.popen2", "popen2.popen3",
    }
)
EXEC_FAMILY_PREFIXES = ("os.exec", "os.spawn")


def is_process_call(name: str) -> bool:
    return name in PROCESS_CALLS or name.startswith(EXEC_FAMILY_PREFIXES)


def process_command(call: ast.Call, name: str) -> ast.expr | None:
    """The argument holding the program and its arguments (or the shell command)."""
    if name.startswith("os.spawn"):
        return argument(call, 1)
    if name.startswith("os.exec"):
        return argument(call, 1) or argument(call, 0)  # argv, else the path
    if name == "asyncio.create_subprocess_exec":
        return ast.Tuple(elts=list(call.args), ctx=ast.Load()) if call.args else None
    return argument(call, 0, "args") or argument(call, 0, "cmd") or argument(call, 0, "command")


HTTP_MODULES = ("requests", "httpx", "urllib3", "aiohttp", "treq", "grequests")
HTTP_VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request", "stream", "urlopen", "fetch", "open"})
SEND_VERBS = frozenset({"post", "put", "patch"})
URL_OPEN = frozenset(
    {
        "urllib.request.urlopen", "urllib.urlopen", "urllib2.urlopen", "six.moves.urllib.request.urlopen",
        "urllib.request.urlretrieve", "urllib.urlretrieve", "six.moves.urllib.request.urlretrieve", "wget.download",
    }
)
CLIENT_CONSTRUCTORS = frozenset(
    {
        "requests.Session", "requests.session", "requests.sessions.Session", "httpx.Client", "httpx.AsyncClient",
        "urllib3.PoolManager", "urllib3.ProxyManager", "urllib3.HTTPConnectionPool", "urllib3.HTTPSConnectionPool",
        "urllib3.connection_from_url", "aiohttp.ClientSession", "http.client.HTTPConnection", "http.client.HTTPSConnection",
        "httplib.HTTPConnection", "httplib.HTTPSConnection", "urllib.request.build_opener", "urllib2.build_opener",
    }
)
# network sockets (not socket.socketpair: a local channel between processes, e.g. asyncio's subprocess pipes)
SOCKET_CONSTRUCTORS = frozenset({"socket.socket", "socket.create_connection", "socket.fromfd", "ssl.wrap_socket", "socket.SocketType"})
HTTP_CONNECTIONS = frozenset({"http.client.HTTPConnection", "http.client.HTTPSConnection", "httplib.HTTPConnection", "httplib.HTTPSConnection"})


def is_socket_constructor(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Call) and (name in SOCKET_CONSTRUCTORS or name.endswith((".accept", ".wrap_socket")))


def receiver_origin(index: ModuleIndex, call: ast.Call, scope: Scope, constructors: frozenset[str] | None = None) -> str | None:
    """For `x.method(...)`: the client or socket constructor `x` was made by (`requests.Session`, `socket.socket`)."""
    if not isinstance(call.func, ast.Attribute):
        return None
    wanted = constructors or (CLIENT_CONSTRUCTORS | SOCKET_CONSTRUCTORS)
    sockets = bool(wanted & SOCKET_CONSTRUCTORS)

    def made_by(node: ast.AST, name: str) -> bool:
        return isinstance(node, ast.Call) and (name in wanted or (sockets and name.endswith((".accept", ".wrap_socket"))))

    # `s = requests.Session()`, `with socket.socket() as s:`, `conn, _ = server.accept()`, `requests.Session().get`
    found = direct(index, call.func.value, scope, made_by)
    if not isinstance(found, ast.Call):
        return None
    name = index.resolve(found.func)
    return "socket.socket" if name not in wanted else name


def http_module_call(name: str) -> bool:
    head = name.split(".", 1)[0]
    return head in HTTP_MODULES and last_part(name) in HTTP_VERBS


def is_network_read(index: ModuleIndex, node: ast.AST, name: str, scope: Scope) -> bool:
    """A call whose result is data (or a response) from the network."""
    if not isinstance(node, ast.Call):
        return False
    if name in URL_OPEN or http_module_call(name):
        return True
    if not isinstance(node.func, ast.Attribute):
        return False
    method = node.func.attr
    if method in ("recv", "recv_into", "recvfrom", "recvmsg", "makefile"):
        return True  # socket-like reads; sockets are the only common objects with these methods
    if method in HTTP_VERBS or method in ("getresponse", "retrbinary", "read"):
        origin = receiver_origin(index, node, scope)
        return origin is not None and (origin in CLIENT_CONSTRUCTORS or method == "read" and origin in SOCKET_CONSTRUCTORS)
    return False


MESSENGER_MODULES = ("discord_webhook", "dhooks", "discord", "telebot", "telegram", "pymsteams", "slack_sdk", "slack")
MESSENGER_METHODS = frozenset({"send_message", "send_document", "send_file", "send_photo", "execute", "chat_postMessage", "files_upload", "files_upload_v2"})


SEND_METHOD_NAMES = frozenset(
    {"send", "sendall", "sendto", "sendfile", "sendmsg", "sendmail", "send_message", "storbinary", "storlines", "request", "Request"}
    | SEND_VERBS | MESSENGER_METHODS
)


def _method_literal(call: ast.Call) -> str:
    method = constant_str(argument(call, 0, "method"))
    return (method or "").upper()


def is_network_send(index: ModuleIndex, site: CallSite, imports_socket: bool) -> str | None:
    """What kind of outbound send `site` is (an HTTP POST, a socket send, a mail, ...), or None."""
    call, name = site.node, site.name
    method = last_part(name)
    head = name.split(".", 1)[0]
    if method not in SEND_METHOD_NAMES and head not in HTTP_MODULES and head not in MESSENGER_MODULES and name not in URL_OPEN:
        return None  # the common case, decided cheaply
    if head in HTTP_MODULES:
        if method in SEND_VERBS:
            return f"{name}()"
        if method == "request" and _method_literal(call) in ("POST", "PUT", "PATCH"):
            return f"{name}({_method_literal(call)})"
        if method in ("get", "request", "urlopen") and any(kw.arg in ("data", "json", "files") for kw in call.keywords):
            return f"{name}() with a body"
    if head in MESSENGER_MODULES and (method.startswith(("send", "execute", "post")) or "Webhook" in name or method in MESSENGER_METHODS):
        return f"{name}()"
    if name in ("urllib.request.urlopen", "urllib2.urlopen", "urllib.urlopen", "six.moves.urllib.request.urlopen") and argument(call, 1, "data") is not None:
        return f"{name}() with data"
    if name in ("urllib.request.Request", "urllib2.Request", "six.moves.urllib.request.Request") and (
        argument(call, 1, "data") is not None or constant_str(keyword(call, "method")) in ("POST", "PUT", "PATCH")
    ):
        return "a urllib POST request"
    if not isinstance(call.func, ast.Attribute):
        return None
    if method in ("send", "sendall", "sendto", "sendfile", "sendmsg"):
        origin = receiver_origin(index, call, site.scope, SOCKET_CONSTRUCTORS)
        if origin is not None:
            return f"a socket {method}()"
        receiver = index.resolve(call.func.value).lower()
        if imports_socket and method != "send":
            return f"{method}() on {receiver or 'a socket'}"
        if imports_socket and "sock" in receiver:
            return f"{method}() on {receiver}"
        return None
    if method in MESSENGER_METHODS and index.imports_any(*MESSENGER_MODULES):
        return f"{name}() (messenger)"
    if method in ("sendmail", "send_message") and index.imports_any("smtplib"):
        return "an email (smtplib)"
    if method in ("storbinary", "storlines") and index.imports_any("ftplib"):
        return "an FTP upload"
    if method in SEND_VERBS or method == "request":
        origin = receiver_origin(index, call, site.scope, CLIENT_CONSTRUCTORS)
        if origin is None:
            return None
        if method in SEND_VERBS:
            return f"{origin} .{method}()"
        verb = _method_literal(call)
        if verb in ("POST", "PUT", "PATCH"):
            return f"{origin} .request({verb})"
    return None


def is_http_request(index: ModuleIndex, site: CallSite) -> bool:
    """Any outbound HTTP(S) request, reads included (data can leave in a URL)."""
    name = site.name
    if name in URL_OPEN or http_module_call(name) or name in ("urllib.request.Request", "urllib2.Request"):
        return True
    call = site.node
    if isinstance(call.func, ast.Attribute) and call.func.attr in HTTP_VERBS:
        return receiver_origin(index, call, site.scope, CLIENT_CONSTRUCTORS) is not None
    return False


# --- per-module facts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    site: CallSite
    what: str


class ModuleFacts:
    def __init__(self, src: SourceFile) -> None:
        self.src = src
        self.index: ModuleIndex = src.index
        self.memo: dict[str, object] = {}  # results other rule modules compute once per module

    @cached_property
    def docstring_ids(self) -> frozenset[int]:
        ids: set[int] = set()
        owners: list[ast.AST] = [self.src.tree, *self.index.definitions]
        for owner in owners:
            body = getattr(owner, "body", None)
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                ids.add(id(body[0].value))
        return frozenset(ids)

    @cached_property
    def code_strings(self) -> list[StringConstant]:
        """String constants that are not docstrings."""
        skip = self.docstring_ids
        return [s for s in self.index.strings if id(s.node) not in skip]

    @cached_property
    def imports_socket(self) -> bool:
        return self.index.imports_any("socket", "ssl")

    @cached_property
    def sends(self) -> list[Send]:
        found: list[Send] = []
        for site in self.index.calls:
            what = is_network_send(self.index, site, self.imports_socket)
            if what is not None:
                found.append(Send(site, what))
        return found

    @cached_property
    def http_requests(self) -> list[CallSite]:
        return [site for site in self.index.calls if is_http_request(self.index, site)]

    @cached_property
    def process_calls(self) -> list[CallSite]:
        return [site for site in self.index.calls if is_process_call(site.name)]

    @cached_property
    def exec_calls(self) -> list[CallSite]:
        """Calls of exec/eval: by name, through `builtins`, a constant subscript (`__builtins__['exec']`) or an
        alias (`run = exec`)."""
        return [site for site in self.index.calls if self.builtin_called(site) in ("exec", "eval")]

    @cached_property
    def compile_calls(self) -> list[CallSite]:
        return [site for site in self.index.calls if self.builtin_called(site) == "compile"]

    def builtin_called(self, site: CallSite) -> str | None:
        name = site.name
        if name in EXEC_BUILTINS or name in COMPILE_BUILTINS:
            bare = last_part(name)
            return None if name == bare and bare in self.shadowed_builtins else bare
        subscripted = _subscript_builtin(site.node)
        if subscripted in ("exec", "eval", "compile"):
            return subscripted
        if isinstance(site.node.func, ast.Call):  # getattr(builtins, "ex" + "ec")(...)
            return self._builtin_reference(site.node.func, site.scope)
        if isinstance(site.node.func, ast.Name) and name not in self.index.imports:
            for value in self.index.values_of(site.node.func.id, site.scope):
                found = self._builtin_reference(value, site.scope)
                if found is not None:
                    return found
        return None

    def _builtin_reference(self, value: ast.AST, scope: Scope) -> str | None:
        """`exec`, `builtins.eval`, `getattr(builtins, "ex" + "ec")`: which builtin `value` refers to."""
        if isinstance(value, (ast.Name, ast.Attribute, ast.Call)):
            resolved = self.index.resolve(value)
            if resolved in EXEC_BUILTINS or resolved in COMPILE_BUILTINS:
                return last_part(resolved)
        if isinstance(value, ast.Call) and self.index.resolve(value.func) == "getattr" and len(value.args) >= 2:
            owner = self.index.resolve(value.args[0])
            attribute = render(self.index, value.args[1], scope)
            if owner in ("builtins", "__builtins__", "__builtin__") and attribute in ("exec", "eval", "compile"):
                return attribute
        return None

    @cached_property
    def shadowed_builtins(self) -> frozenset[str]:
        """exec/eval/compile redefined at module level (a function of that name, an assignment), so a bare call
        is not the builtin. (Methods named `exec` do not shadow: they are called as `obj.exec`.)"""
        names = {"exec", "eval", "compile"}
        found: set[str] = set()
        for statement in self.src.tree.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name in names:
                found.add(statement.name)
        return frozenset(found)

    @cached_property
    def socket_connect_lines(self) -> list[int]:
        lines = []
        for site in self.index.calls:
            if site.name in ("socket.create_connection", "socket.socket") or (
                isinstance(site.node.func, ast.Attribute)
                and site.node.func.attr in ("connect", "connect_ex")
                and receiver_origin(self.index, site.node, site.scope, SOCKET_CONSTRUCTORS) is not None
            ):
                lines.append(site.node.lineno)
        return lines


def _subscript_builtin(call: ast.Call) -> str | None:
    """`__builtins__['exec'](...)`, `vars(builtins)['eval'](...)`: the builtin named by a constant subscript."""
    func = call.func
    if isinstance(func, ast.Subscript):
        return constant_str(func.slice)
    return None


_FACTS: dict[int, ModuleFacts] = {}
FACTS_KEPT = 64  # modules whose facts are kept (rules run file by file; plugin rules revisit a plugin's files)


def facts(src: SourceFile) -> ModuleFacts:
    """The module's facts, computed once however many rules ask. The cache holds the index it is keyed by,
    so an id cannot be reused while its entry lives; it is bounded, not weak."""
    key = id(src.index)
    made = _FACTS.get(key)
    if made is not None and made.index is src.index:
        return made
    if len(_FACTS) >= FACTS_KEPT:
        _FACTS.clear()
    made = ModuleFacts(src)
    _FACTS[key] = made
    return made


def short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
