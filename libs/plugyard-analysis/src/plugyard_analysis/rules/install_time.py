"""Code that runs when the plugin is installed or when any Python starts, not when the plugin is used:

- PY-SETUP-EXEC: a setup.py that does more than describe the package (starts processes, uses the network,
  executes code, or overrides the install/develop/egg_info commands), or an in-tree build backend;
- PY-PTH-EXEC: a .pth file (site.py executes its `import` lines at every interpreter start);
- PY-SITECUSTOMIZE: a sitecustomize.py/usercustomize.py shipped in the plugin (imported at every start).
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator

from plugyard_analysis.pyindex import CallSite
from plugyard_analysis.rulebook import Hit, RuleInfo, file_rule, python_rule
from plugyard_analysis.rules._text_util import EXEC_CALLS, call_arg, constant_str, derives, file_name_of, is_network_call, path_shape, process_calls, read_path_expr, show
from plugyard_analysis.sources import PluginFile, SourceFile

SETUP_EXEC = RuleInfo(
    "PY-SETUP-EXEC",
    "behaviour",
    "high",
    "setup.py runs code at install time (processes, network, exec, or overridden install commands)",
    cwe=829,
)
PTH_EXEC = RuleInfo(
    "PY-PTH-EXEC",
    "behaviour",
    "critical",
    "A .pth file: Python runs its import lines at every interpreter start",
    cwe=506,
)
SITECUSTOMIZE = RuleInfo(
    "PY-SITECUSTOMIZE",
    "behaviour",
    "high",
    "A sitecustomize/usercustomize module: Python imports it at every interpreter start",
    cwe=506,
)

RISKY_PTH_DIR = re.compile(r"^(/tmp|/var/tmp|/dev/shm|/private/tmp)(/|$)|^(~|/home/[^/]+|/root|/users/[^/]+)/\.[^/]+|%(temp|tmp)%|\\temp\\", re.I)
INSTALL_COMMANDS = frozenset({"install", "develop", "egg_info", "bdist_egg", "easy_install", "install_lib", "install_scripts", "install_egg_info", "install_data"})
COMMAND_CLASSES = frozenset(
    f"{package}.command.{command}.{command}" for package in ("setuptools", "distutils") for command in INSTALL_COMMANDS
) | frozenset({"setuptools.command.install", "setuptools.command.develop", "setuptools.command.egg_info"})
SETUP_CALLS = ("setuptools.setup", "distutils.core.setup", "setup")
HARMLESS_TOOLS = ("git", "hg", "svn")


def _is_setup(path: str) -> bool:
    return path.rsplit("/", 1)[-1].lower() == "setup.py"


def _reads_python_file(src: SourceFile, call: CallSite) -> bool:
    """`exec(open("pkg/_version.py").read())`: the usual way to read a version, not install-time code."""
    arg = call_arg(call.node, 0, "source")
    if arg is None:
        return False

    def reads_py(site: CallSite) -> bool:
        target = read_path_expr(src.index, site.node)
        name = file_name_of(path_shape(src.index, target, site.scope)) if target is not None else None
        return bool(name and name.endswith(".py"))

    return derives(src.index, arg, call.scope, reads_py) is not None


@python_rule(SETUP_EXEC)
def check_setup(src: SourceFile) -> Iterator[Hit]:
    if not _is_setup(src.path):
        return
    index = src.index
    for call, command in process_calls(index):
        first = command.split(" ", 1)[0].rsplit("/", 1)[-1]
        if first in HARMLESS_TOOLS and "?" not in command:
            continue  # `git describe` for the version
        yield Hit(f"starts a process at install time: {show(command)}", node=call.node)
        return
    for call in index.calls:
        if is_network_call(call.name):
            yield Hit(f"uses the network at install time ({call.name})", node=call.node)
            return
    for call in index.calls_to("__import__", "importlib.import_module", "builtins.__import__"):
        name = call_arg(call.node, 0, "name")
        if name is not None and constant_str(name) is None:
            # `__import__("subp" + "rocess")`: a module name assembled so that a reader (or a scanner) misses it
            yield Hit(f"imports a module by a computed name ({show(path_shape(index, name, call.scope))}) at install time", node=call.node)
            return
    for call in index.calls_to(*EXEC_CALLS):
        if call.name in ("compile", "builtins.compile", "runpy.run_path") or _reads_python_file(src, call):
            continue
        yield Hit(f"executes dynamic code at install time ({call.name})", node=call.node)
        return
    for definition in index.definitions:
        if isinstance(definition, ast.ClassDef):
            for base in definition.bases:
                name = index.resolve(base)
                if name in COMMAND_CLASSES:
                    yield Hit(f"overrides the {name.rsplit('.', 1)[-1]} command (class {definition.name})", node=definition)
                    return
    for call in index.calls_to(*SETUP_CALLS):
        cmdclass = call_arg(call.node, 99, "cmdclass")
        overridden = sorted(_command_keys(src, cmdclass, call) & INSTALL_COMMANDS)
        if overridden:
            yield Hit(f"overrides the {', '.join(overridden)} command(s) through cmdclass", node=call.node)
            return


def _command_keys(src: SourceFile, expr: ast.expr | None, call: CallSite) -> set[str]:
    if isinstance(expr, ast.Name):
        for value in reversed(src.index.values_of(expr.id, call.scope)):
            keys = _command_keys(src, value, call)
            if keys:
                return keys
        return set()
    if isinstance(expr, ast.Dict):
        return {key for key in (constant_str(k) for k in expr.keys if k is not None) if key}
    if isinstance(expr, ast.Call) and src.index.resolve(expr.func) == "dict":
        return {kw.arg for kw in expr.keywords if kw.arg}
    return set()


@file_rule(SETUP_EXEC)
def check_build_backend(file: PluginFile) -> Iterator[Hit]:
    if file.name != "pyproject.toml" or file.text is None:
        return
    try:
        data = tomllib.loads(file.text)
    except tomllib.TOMLDecodeError:
        return
    build = data.get("build-system")
    if isinstance(build, dict) and build.get("backend-path"):
        line = next((n for n, text in enumerate(file.text.splitlines(), 1) if "backend-path" in text), None)
        yield Hit(f"pyproject.toml builds with an in-tree backend ({build.get('build-backend')!r}) that runs at install time", line=line, severity="medium")


@file_rule(PTH_EXEC)
def check_pth(file: PluginFile) -> Iterator[Hit]:
    if file.suffix != ".pth":
        return
    text = file.text if file.text is not None else file.data.decode("latin-1")
    suspicious = risky_path = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if raw.startswith(("import ", "import\t")):
            yield Hit(f"{file.name} runs code at interpreter start: {line[:120]}", line=number)
            return
        if not line or line.startswith("#"):
            continue  # site.py skips comments and blank lines
        if suspicious is None and any(word in line for word in ("exec(", "eval(", "__import__", "compile(")):
            suspicious = (number, line)
        if risky_path is None and RISKY_PTH_DIR.search(line):
            risky_path = (number, line)
    if suspicious is not None:
        yield Hit(f"{file.name} holds code ({suspicious[1][:120]})", line=suspicious[0], severity="high")
    elif risky_path is not None:
        # a directory anyone can write to (or a hidden one) on every interpreter's path: module shadowing
        yield Hit(f"{file.name} puts {risky_path[1][:120]} on every interpreter's import path", line=risky_path[0], severity="medium")


@file_rule(SITECUSTOMIZE)
def check_sitecustomize(file: PluginFile) -> Iterator[Hit]:
    if file.name.lower() in ("sitecustomize.py", "usercustomize.py", "sitecustomize.pyc", "usercustomize.pyc"):
        yield Hit(f"{file.path} is imported by every Python interpreter that sees it on its path")

