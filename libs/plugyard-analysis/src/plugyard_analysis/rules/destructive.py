"""PY-DESTRUCTIVE: code that destroys the user's data or system: deletes the home directory, the root or system
directories, walks them deleting/overwriting/encrypting files (wipers, ransomware), writes raw disks, or runs
`rm -rf /`-style commands. Deleting under the plugin's own or temporary directories is not flagged.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator

from plugyard_analysis.pyindex import CallSite, ModuleIndex
from plugyard_analysis.rulebook import Hit, RuleInfo, python_rule
from plugyard_analysis.rules._text_util import ModuleFacts, call_arg, constant_str, expand, file_writes, normalise_path, path_shape, process_calls, show
from plugyard_analysis.sources import SourceFile

DESTRUCTIVE = RuleInfo(
    "PY-DESTRUCTIVE",
    "behaviour",
    "critical",
    "Code destroys user or system data: deletes home/root/system directories, wipes or encrypts files across them, or runs rm -rf /-style commands",
    cwe=506,
)

DELETE_CALLS = frozenset({"shutil.rmtree", "os.remove", "os.unlink", "os.rmdir", "os.removedirs", "send2trash.send2trash", "distutils.dir_util.remove_tree"})
DELETE_ATTRS = frozenset({"unlink", "rmdir", "rmtree"})
WALK_CALLS = frozenset({"os.walk", "os.fwalk", "glob.glob", "glob.iglob", "os.scandir", "os.listdir"})
WALK_ATTRS = frozenset({"rglob", "glob", "iterdir", "walk"})
RECURSIVE_WALKS = frozenset({"os.walk", "os.fwalk", "rglob", "walk"})

SYSTEM_DIRS = frozenset(
    {"/", "~", "/home", "/users", "/root", "/etc", "/usr", "/usr/bin", "/usr/lib", "/usr/local", "/bin", "/sbin", "/boot",
     "/lib", "/lib64", "/var", "/var/lib", "/opt", "/srv", "/system", "/library", "/applications", "/private", "/mnt", "/media",
     "c:", "c:/windows", "c:/windows/system32", "c:/users", "c:/program files", "c:/program files (x86)", "c:/programdata",
     "~/documents", "~/desktop", "~/pictures", "~/downloads", "~/music", "~/videos", "~/movies", "~/photos", "~/.ssh",
     "~/.gnupg", "~/.config", "~/library", "~/appdata", "~/appdata/roaming", "~/onedrive", "~/dropbox", "~/projects",
     "~/src", "~/code", "~/work", "/etc/passwd", "/etc/shadow", "/etc/sudoers", "/etc/fstab", "/boot/grub"}
)  # fmt: skip
RAW_DISK = re.compile(r"^/dev/(sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|disk\d|rdisk\d|mapper/)|physicaldrive\d|^/\./[a-z]:$")
CIPHER_CALLS = ("Crypto.Cipher.AES.new", "Cryptodome.Cipher.AES.new", "Crypto.Cipher.ChaCha20.new", "Crypto.Cipher.Salsa20.new",
                "cryptography.fernet.Fernet", "cryptography.hazmat.primitives.ciphers.Cipher", "cryptography.hazmat.primitives.ciphers.aead.AESGCM",
                "nacl.secret.SecretBox", "pyAesCrypt.encryptFile", "pyaes.AESModeOfOperationCTR")  # fmt: skip
RANSOM_NOTE = re.compile(
    r"your (important )?(files|documents|data|photos)\b.{0,60}\b(encrypted|locked)|\bransom\b|send .{0,40}\b(bitcoin|btc|monero|xmr)\b"
    r"|\b(bitcoin|btc|monero) (address|wallet)\b|to (decrypt|recover|restore) your (files|data|documents)",
    re.I,
)  # fmt: skip

SHELL_DESTROY: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.I), what)
    for pattern, what in (
        (r"--no-preserve-root", "deletes the root filesystem"),
        (r"\b(rd|rmdir)\s+(/[sq]\s+)+['\"]?[a-z]:\\?['\"]?(\s|$|&)", "deletes a whole Windows drive"),
        (r"\bdel\s+(/[fsqa]\s+)+['\"]?[a-z]:\\(\*(\.\*)?)?['\"]?(\s|$|&)", "deletes every file of a Windows drive"),
        (r"\bformat(\.com)?\s+[a-z]:", "formats a drive"),
        (r"\bvssadmin(\.exe)?\s+delete\s+shadows|\bwmic(\.exe)?\s+shadowcopy\s+delete|\bwbadmin(\.exe)?\s+delete\s+(catalog|systemstatebackup)", "deletes backups and shadow copies (ransomware)"),
        (r"\bbcdedit(\.exe)?\s+/set\s+\S+\s+(recoveryenabled\s+no|bootstatuspolicy\s+ignoreallfailures)", "disables system recovery (ransomware)"),
        (r"\bmkfs(\.\w+)?\s+(-\S+\s+)*/dev/", "formats a disk"),
        (r"\bdd\b.*\bof=/dev/(sd|hd|vd|xvd|nvme|mmcblk|disk)", "overwrites a raw disk"),
        (r"\b(shred|wipefs)\b.*\s/dev/(sd|hd|vd|xvd|nvme|mmcblk|disk)", "wipes a raw disk"),
        (r":\(\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:", "runs a fork bomb"),
        (r">\s*/dev/(sd[a-z]|nvme\d|hd[a-z])\b", "overwrites a raw disk"),
    )
)
RM = re.compile(r"(?:^|[\s;&|(`'\"])(?:sudo\s+)?rm\s+(?P<args>[^;&|`)]*)")


def _dangerous(shape: str | None) -> str | None:
    for path in expand(shape)[:16]:
        danger = _dangerous_path(path)
        if danger is not None:
            return danger
    return None


def _dangerous_path(shape: str) -> str | None:
    path = normalise_path(shape)
    for suffix in ("/*", "/**", "/**/*", "/*.*"):
        if path.endswith(suffix):
            path = path[: -len(suffix)] or "/"
    path = path.rstrip("/") or "/"
    if re.fullmatch(r"[a-z]:", path) or path in SYSTEM_DIRS:
        return path
    return None


def _rm_destroys(command: str) -> str | None:
    for match in RM.finditer(command):
        words = match.group("args").split()
        flags = "".join(w[1:] for w in words if w.startswith("-") and not w.startswith("--"))
        long_flags = {w for w in words if w.startswith("--")}
        recursive = "r" in flags.lower() or "--recursive" in long_flags
        targets = [w.strip("'\"") for w in words if not w.startswith("-")]
        for target in targets:
            danger = _dangerous(target.replace("$HOME", "~").replace("${HOME}", "~"))
            if danger is not None and (recursive or danger in ("/etc/passwd", "/etc/shadow", "/etc/sudoers")):
                return f"deletes {danger}" + (" recursively" if recursive else "")
    return None


def _filters_by_prefix(calls: Iterable[CallSite]) -> bool:
    """`name.startswith(".myplugin")` (or fnmatch with a fixed prefix): the walk keeps only its own files."""
    for call in calls:
        func = call.node.func
        if isinstance(func, ast.Attribute) and func.attr == "startswith" and call.node.args:
            prefix = constant_str(call.node.args[0])
            if prefix is not None and len(prefix) >= 3:
                return True
        if call.name in ("fnmatch.fnmatch", "fnmatch.fnmatchcase") and len(call.node.args) >= 2:
            pattern = constant_str(call.node.args[1])
            if pattern is not None and len(pattern.split("*", 1)[0]) >= 3:
                return True
    return False


def _target(call: CallSite) -> ast.expr | None:
    if call.name in DELETE_CALLS:
        return call_arg(call.node, 0, "path")
    if isinstance(call.node.func, ast.Attribute) and call.node.func.attr in DELETE_ATTRS and not call.node.args:
        return call.node.func.value
    return None


def _walk_root(index: ModuleIndex, call: CallSite) -> tuple[str, ast.expr | None] | None:
    """(kind of walk, the expression naming its root) for a directory walk."""
    if call.name in WALK_CALLS:
        return call.name, call_arg(call.node, 0, "top") or call_arg(call.node, 0, "pathname") or call_arg(call.node, 0, "path")
    if isinstance(call.node.func, ast.Attribute) and call.node.func.attr in WALK_ATTRS and call.name not in WALK_CALLS:
        if call.node.func.attr == "glob" and call.node.args:
            pattern = path_shape(index, call.node.args[0], call.scope) or ""
            return ("rglob" if "**" in pattern else "glob"), call.node.func.value
        return call.node.func.attr, call.node.func.value
    return None


@python_rule(DESTRUCTIVE)
def check_destructive(src: SourceFile) -> Iterator[Hit]:
    index = src.index
    reported: set[int] = set()

    # 1. deleting a home/root/system directory outright
    harm: dict[int, set[str]] = {}  # scope -> what it does to files it does not name statically
    for call in index.calls:
        target = _target(call)
        if target is None:
            continue
        shape = path_shape(index, target, call.scope)
        if shape is None or "?" in shape:
            harm.setdefault(id(call.scope), set()).add("deletes")
        danger = _dangerous(shape)
        if danger is not None:
            reported.add(call.node.lineno)
            yield Hit(f"{call.name or 'unlink'}() deletes {danger}", node=call.node)

    # 2. raw disk writes
    for call, target in file_writes(index):
        shape = path_shape(index, target, call.scope)
        if shape is None or "?" in shape:
            harm.setdefault(id(call.scope), set()).add("overwrites")
        if any(RAW_DISK.search(normalise_path(path)) for path in expand(shape)) and call.node.lineno not in reported:
            reported.add(call.node.lineno)
            yield Hit(f"writes the raw disk {show(shape)}", node=call.node)

    # 3. destructive shell commands
    for call, command in process_calls(index):
        if call.node.lineno in reported:
            continue
        what = None
        for alternative in expand(command)[:8]:
            what = _rm_destroys(alternative) or next((label for pattern, label in SHELL_DESTROY if pattern.search(alternative)), None)
            if what is not None:
                break
        if what is not None:
            reported.add(call.node.lineno)
            yield Hit(f"{what}: {show(command)}", node=call.node)

    # 4. walking a home/root/system directory while deleting, overwriting or encrypting what it finds
    for call in index.calls_to(*CIPHER_CALLS):
        harm.setdefault(id(call.scope), set()).add("encrypts")
    for call in index.calls:
        if isinstance(call.node.func, ast.Attribute) and call.node.func.attr in ("encrypt", "encrypt_and_digest", "encryptFile"):
            harm.setdefault(id(call.scope), set()).add("encrypts")
    walks = [(call, walk) for call in index.calls if (walk := _walk_root(index, call)) is not None]
    if not walks or not harm:
        return
    flow = _Flow(index, harm)
    ransom = any(RANSOM_NOTE.search(s.value) for s in index.strings if len(s.value) < 5000)
    for call, (kind, root) in walks:
        if call.node.lineno in reported:
            continue
        for shape, done in flow.contexts(root, call.scope, level=3):
            if not done:
                continue
            what = " and ".join(sorted(done))
            danger = _dangerous(shape.split("*", 1)[0] if shape is not None and not shape.startswith("*") else shape)
            if danger is not None:
                recursive = kind in RECURSIVE_WALKS or (shape is not None and "**" in shape)
                if not recursive and _filters_by_prefix(flow.calls_in(call.scope)):
                    continue  # listdir(home) keeping only names like ".myplugin-*": cleaning up its own files
                if recursive or done & {"deletes", "encrypts"}:
                    reported.add(call.node.lineno)
                    yield Hit(f"walks {show(danger)} and {what} the files it finds", node=call.node)
                    break
            if "encrypts" in done and ransom and done & {"deletes", "overwrites"}:
                reported.add(call.node.lineno)
                yield Hit(f"walks a directory, {what} the files and leaves a ransom note (ransomware)", node=call.node)
                break


class _Flow:
    """Where a walk's root comes from and what is done to the files it yields, across the module's own
    functions: `def wipe(root): for ... in os.walk(root): ...` called as `wipe(Path.home())`, or a generator
    `targets(root)` whose files another method encrypts."""

    def __init__(self, index: ModuleIndex, harm: dict[int, set[str]]) -> None:
        self.index = index
        self.harm = harm
        self.facts = ModuleFacts.of(index)
        self.by_scope: dict[int, list[CallSite]] = {}
        self.by_callee: dict[str, list[CallSite]] = {}
        for call in index.calls:
            self.by_scope.setdefault(id(call.scope), []).append(call)
            func = call.node.func
            callee = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if callee is not None:
                self.by_callee.setdefault(callee, []).append(call)

    def calls_in(self, scope: ast.AST) -> list[CallSite]:
        return self.by_scope.get(id(scope), [])

    def harm_of(self, scope: ast.AST) -> set[str]:
        """What a function does to files itself and through the module's helpers it calls."""
        done = set(self.harm.get(id(scope), ()))
        for inner in self.calls_in(scope):
            for helper in self.facts.callee(inner.node):
                done |= self.harm.get(id(helper), set())
        return done

    def callers(self, scope: ast.AST) -> list[CallSite]:
        if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return self.by_callee.get(scope.name, [])[:20]
        return []

    def contexts(self, expr: ast.expr | None, scope: ast.AST, level: int) -> list[tuple[str | None, set[str]]]:
        """(the root's path, what is done to the files) for each way the walk can be reached."""
        done = self.harm_of(scope)
        shape = path_shape(self.index, expr, scope)
        if shape is not None:
            return [(shape, done)] + [(shape, done | self.harm_of(c.scope)) for c in self.callers(scope)] if level > 0 else [(shape, done)]
        parameter = _parameter_position(expr, scope)
        if parameter is None or level <= 0:
            return [(None, done)]
        found: list[tuple[str | None, set[str]]] = []
        name, position, method = parameter
        for caller in self.callers(scope):
            offset = 1 if method and isinstance(caller.node.func, ast.Attribute) else 0
            argument = call_arg(caller.node, position - offset, name)
            if argument is not None:
                found.extend((s, done | d) for s, d in self.contexts(argument, caller.scope, level - 1))
        return found or [(None, done)]


def _parameter_position(expr: ast.expr | None, scope: ast.AST) -> tuple[str, int, bool] | None:
    """(name, position, is a method) when `expr` is a positional parameter of the function `scope`."""
    if not isinstance(expr, ast.Name) or not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    params = [a.arg for a in (*scope.args.posonlyargs, *scope.args.args)]
    if expr.id not in params:
        return None
    return expr.id, params.index(expr.id), bool(params) and params[0] in ("self", "cls")
