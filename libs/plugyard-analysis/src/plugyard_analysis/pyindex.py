"""One walk over a module's AST that every rule then queries: imports, calls by resolved name, attribute
reads, string constants and simple assignments per scope.

Names are resolved through the module's imports, so `import base64 as b; b.b64decode(x)` is a call to
`base64.b64decode`, `from os import system as s; s(x)` one to `os.system`, `__import__("os").system(x)` and
`getattr(os, "system")(x)` too. Builtins keep their bare name (`exec`, `open`). Anything else keeps the
dotted text it was written with (`self.run`, `client.send`), or "" when it has none (`f()()`).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

Scope = ast.AST  # the Module, FunctionDef, AsyncFunctionDef, Lambda or ClassDef a node is in


@dataclass(frozen=True)
class CallSite:
    name: str
    node: ast.Call
    scope: Scope


@dataclass(frozen=True)
class AttributeRead:
    name: str  # resolved dotted name, e.g. "os.environ"
    node: ast.Attribute
    scope: Scope


@dataclass(frozen=True)
class StringConstant:
    value: str
    node: ast.Constant
    scope: Scope


@dataclass
class ModuleIndex:
    imports: dict[str, str] = field(default_factory=dict)  # local alias -> full dotted name
    imported_modules: set[str] = field(default_factory=set)  # every module named in an import
    import_lines: dict[str, int] = field(default_factory=dict)  # module -> first line importing it
    calls: list[CallSite] = field(default_factory=list)
    attributes: list[AttributeRead] = field(default_factory=list)
    strings: list[StringConstant] = field(default_factory=list)
    # (scope, variable) -> the values assigned to it, in source order
    assignments: dict[tuple[int, str], list[ast.expr]] = field(default_factory=lambda: defaultdict(list))
    definitions: list[ast.AST] = field(default_factory=list)  # FunctionDef, AsyncFunctionDef, ClassDef
    identifiers: list[tuple[str, ast.AST]] = field(default_factory=list)  # every name bound: args, targets, defs
    module: ast.Module | None = None
    _calls_by_name: dict[str, list[CallSite]] | None = None

    @classmethod
    def build(cls, tree: ast.Module) -> ModuleIndex:
        index = cls(module=tree)
        indexer = _Indexer(index)
        indexer.visit(tree)
        indexer.resolve_aliased_calls()
        return index

    # --- queries -------------------------------------------------------------------------------------

    def calls_to(self, *names: str) -> list[CallSite]:
        """Calls whose resolved name is one of `names`; a name ending in ".*" matches a whole module."""
        if self._calls_by_name is None:
            grouped: dict[str, list[CallSite]] = defaultdict(list)
            for call in self.calls:
                grouped[call.name].append(call)
            self._calls_by_name = grouped
        found: list[CallSite] = []
        for wanted in names:
            if wanted.endswith(".*"):
                prefix = wanted[:-1]
                found.extend(c for n, cs in self._calls_by_name.items() if n.startswith(prefix) for c in cs)
            else:
                found.extend(self._calls_by_name.get(wanted, ()))
        return sorted(found, key=lambda c: (c.node.lineno, c.node.col_offset))

    def reads_of(self, *names: str) -> list[AttributeRead]:
        return [read for read in self.attributes if read.name in names or any(read.name.startswith(n + ".") for n in names)]

    def imports_any(self, *modules: str) -> bool:
        return any(m == wanted or m.startswith(wanted + ".") for m in self.imported_modules for wanted in modules)

    def resolve(self, node: ast.AST) -> str:
        return resolve_name(node, self.imports)

    def values_of(self, name: str, scope: Scope) -> list[ast.expr]:
        """What `name` was assigned in `scope`, else at module level."""
        values = self.assignments.get((id(scope), name))
        if values:
            return values
        return self.assignments.get((id(self.module), name), []) if self.module is not None else []

    def derives_from(
        self, expr: ast.AST | None, scope: Scope, is_source: Callable[[CallSite], bool], depth: int = 4, _seen: set[int] | None = None
    ) -> CallSite | None:
        """The call satisfying `is_source` that `expr` is computed from, following nested calls, operators,
        attribute/method chains (`x.decode()`), subscripts and variables assigned in the same scope.
        Each assigned value is followed once per query: a variable reassigned many times would otherwise
        make the search exponential."""
        if expr is None or depth < 0:
            return None
        seen = set() if _seen is None else _seen
        for node in value_nodes(expr):
            if isinstance(node, ast.Call):
                site = CallSite(self.resolve(node.func), node, scope)
                if is_source(site):
                    return site
            elif isinstance(node, ast.Name) and depth > 0:
                for value in self.values_of(node.id, scope):
                    if id(value) in seen:
                        continue
                    seen.add(id(value))
                    found = self.derives_from(value, scope, is_source, depth - 1, seen)
                    if found is not None:
                        return found
        return None

    def strings_in(self, expr: ast.AST | None, scope: Scope, depth: int = 3, _seen: set[int] | None = None) -> list[str]:
        """The string constants `expr` is built from, following variables assigned in the same scope (each once)."""
        if expr is None or depth < 0:
            return []
        seen = set() if _seen is None else _seen
        found: list[str] = []
        for node in value_nodes(expr):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append(node.value)
            elif isinstance(node, ast.Constant) and isinstance(node.value, bytes):
                found.append(node.value.decode("latin-1"))
            elif isinstance(node, ast.Name) and depth > 0:
                for value in self.values_of(node.id, scope):
                    if id(value) not in seen:
                        seen.add(id(value))
                        found.extend(self.strings_in(value, scope, depth - 1, seen))
        return found


def value_nodes(expr: ast.AST, limit: int = 500) -> Iterator[ast.AST]:
    """`expr` and the sub-expressions its value is computed from (not lambdas' bodies), at most `limit` nodes."""
    stack = [expr]
    seen = 0
    while stack and seen < limit:
        node = stack.pop()
        seen += 1
        yield node
        if isinstance(node, ast.Lambda):
            continue
        stack.extend(ast.iter_child_nodes(node))


def resolve_name(node: ast.AST, imports: dict[str, str]) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(imports.get(node.id, node.id))
    elif isinstance(node, ast.Call):
        base = _dynamic_base(node, imports)
        if base is None:
            return ""
        parts.append(base)
    else:
        return ""
    return ".".join(reversed(parts))


def _dynamic_base(call: ast.Call, imports: dict[str, str]) -> str | None:
    """`__import__("os")`, `importlib.import_module("os")` -> "os"; `getattr(os, "system")` -> "os.system"."""
    func = resolve_name(call.func, imports)
    first = call.args[0] if call.args else None
    if func in ("__import__", "builtins.__import__", "importlib.import_module") and isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    if func == "getattr" and len(call.args) >= 2:
        attr = call.args[1]
        if isinstance(attr, ast.Constant) and isinstance(attr.value, str):
            base = resolve_name(call.args[0], imports)
            return f"{base}.{attr.value}" if base else None
    return None


class _Indexer(ast.NodeVisitor):
    def __init__(self, index: ModuleIndex) -> None:
        self.index = index
        self.scope: Scope = index.module  # type: ignore[assignment]
        self.bound: dict[str, str | None] = {}  # every plain name assigned -> the alias target all its assignments agree on
        self.aliased: set[str] = set()

    def _in_scope(self, node: ast.AST, body: Iterable[ast.AST]) -> None:
        outer, self.scope = self.scope, node
        for child in body:
            self.visit(child)
        self.scope = outer

    def _alias(self, name: str, value: ast.expr) -> None:
        """`req = __import__("requests")` or `run = os.system` make `req`/`run` stand for what they name, as an
        import would (an evasion otherwise hides every call through them), but only while every assignment
        to the name agrees; a name bound to anything else as well is no alias."""
        target = None
        if isinstance(value, ast.Call):  # __import__("x"), importlib.import_module("x"), getattr(x, "attr")
            target = _dynamic_base(value, self.index.imports)
        elif isinstance(value, ast.Attribute):  # an attribute of an imported module
            resolved = resolve_name(value, self.index.imports)
            if resolved.split(".")[0] in self.index.imported_modules:
                target = resolved
        if name in self.bound:
            if self.bound[name] != target and name in self.aliased:
                del self.index.imports[name]
                self.aliased.discard(name)
            self.bound[name] = None if self.bound[name] != target else target
            return
        self.bound[name] = target
        if target and name not in self.index.imports:
            self.index.imports[name] = target
            self.aliased.add(name)

    def resolve_aliased_calls(self) -> None:
        """Calls and attribute reads seen before an alias was bound (a function above `req = __import__(...)`)."""
        if not self.aliased:
            return
        imports = self.index.imports
        self.index.calls = [CallSite(resolve_name(c.node.func, imports), c.node, c.scope) for c in self.index.calls]
        self.index.attributes = [AttributeRead(resolve_name(a.node, imports), a.node, a.scope) for a in self.index.attributes]

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._imported(alias.name, node.lineno)
            if alias.asname:
                self.index.imports[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                self.index.imports.setdefault(top, top)
                self.index.identifiers.append((top, node))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = ("." * node.level) + (node.module or "")
        self._imported(module, node.lineno)
        for alias in node.names:
            full = f"{module}.{alias.name}" if module else alias.name
            if alias.name != "*":
                self.index.imports[alias.asname or alias.name] = full
                self._imported(full, node.lineno)

    def _imported(self, module: str, line: int) -> None:
        self.index.imported_modules.add(module)
        self.index.import_lines.setdefault(module, line)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.index.definitions.append(node)
        self.index.identifiers.append((node.name, node))
        for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs, node.args.vararg, node.args.kwarg):
            if arg is not None:
                self.index.identifiers.append((arg.arg, arg))
        for decorator in node.decorator_list:
            self.visit(decorator)
        for default in (*node.args.defaults, *node.args.kw_defaults):
            if default is not None:
                self.visit(default)
        self._in_scope(node, node.body)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._in_scope(node, [node.body])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.index.definitions.append(node)
        self.index.identifiers.append((node.name, node))
        for expr in (*node.bases, *node.keywords, *node.decorator_list):
            self.visit(expr)
        self._in_scope(node, node.body)

    def visit_Call(self, node: ast.Call) -> None:
        self.index.calls.append(CallSite(resolve_name(node.func, self.index.imports), node, self.scope))
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        name = resolve_name(node, self.index.imports)
        if name:
            self.index.attributes.append(AttributeRead(name, node, self.scope))
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            self.index.strings.append(StringConstant(node.value, node, self.scope))

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._bind(target, node.value)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._bind(node.target, node.value)
        self.generic_visit(node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self._bind(node.target, node.value)
        self.generic_visit(node)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self._bind(node.target, node.iter)
        self.generic_visit(node)

    visit_AsyncFor = visit_For  # type: ignore[assignment]

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            if item.optional_vars is not None:
                self._bind(item.optional_vars, item.context_expr)
        self.generic_visit(node)

    visit_AsyncWith = visit_With  # type: ignore[assignment]

    def _bind(self, target: ast.AST, value: ast.expr) -> None:
        if isinstance(target, ast.Name):
            self.index.assignments[(id(self.scope), target.id)].append(value)
            self.index.identifiers.append((target.id, target))
            self._alias(target.id, value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._bind(element, value)
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
            self.index.assignments[(id(self.scope), f"self.{target.attr}")].append(value)
