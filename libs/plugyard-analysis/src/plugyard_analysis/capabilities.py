"""What a plugin's code can do, inferred from its imports and calls (`SourceFile.index`), each with evidence.

The capabilities, and what counts as each:

- network: importing a library that only talks to the network (requests, httpx, aiohttp, urllib3,
  websockets, paramiko, grpc, nats, smtplib, ftplib, database clients, ...), or calling the standard
  library's network entry points (socket.socket/create_connection/getaddrinfo, urllib.request.urlopen,
  http.client.HTTP(S)Connection, asyncio.open_connection/start_server, socketserver/http.server servers).
  Importing `socket`, `urllib` or `http` alone is not network (gethostname, urllib.parse, HTTPStatus).
  Literal hosts and URLs that reach a network call's arguments are kept (`Use.hosts`) so the rules can
  compare them with the declared hosts.
- filesystem_read / filesystem_write: `open` and its relatives (io, codecs, gzip/bz2/lzma, tarfile,
  zipfile, shelve, dbm, sqlite3), os/shutil file operations, os.listdir/scandir/walk, glob, and pathlib's
  read_text/write_text/... methods. The mode decides read or write (w, a, x, + write; a mode only known at
  run time reads). Every path counts except those that are obviously the plugin's own files or scratch
  space: paths computed from `__file__`/`__spec__`, importlib.resources, pkgutil.get_data, pkg_resources,
  the tempfile module, /tmp, /var/tmp, /dev/shm, /dev/null and sqlite's ":memory:". A relative literal
  path counts: it is resolved against the working directory, not the plugin. Absolute literal paths are
  kept (`Use.paths`) for the comparison with the declared grants.
- subprocess: starting another program: subprocess.*, os.system/popen/exec*/spawn*/posix_spawn*/startfile,
  pty.spawn, asyncio.create_subprocess_*, event loops' subprocess_exec/shell, webbrowser.open*, and the
  pexpect/sh/plumbum/sarge libraries. multiprocessing and os.fork are NOT subprocess: they run the
  plugin's own Python code in another process, not another program.
- env: os.environ (reads by literal name, reads of the whole mapping, reads by computed name, writes),
  os.getenv/getenvb, os.putenv/unsetenv. Handing the environment (or a copy of it) to a child process as
  `env=` is recorded as such (`env_kind="child"`) and is not a read by the plugin.
- dynamic_code: exec/eval/compile of anything but a string literal, __import__/importlib.import_module
  of a computed name, marshal.loads, runpy, imp.load_source, importlib.util.spec_from_file_location,
  types.FunctionType/CodeType. A module that defines its own `eval`/`compile`/`exec` is not calling the
  builtin.
- native: importing ctypes or cffi, loading libraries (ctypes.CDLL/cdll.LoadLibrary/..., ffi.dlopen,
  ExtensionFileLoader, imp.load_dynamic); at plugin level, bundled compiled files (`bundled_code`).
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from plugyard_analysis.context import Evidence
from plugyard_analysis.pyindex import CallSite, ModuleIndex, Scope, value_nodes
from plugyard_analysis.sources import PluginFile, SourceFile

if TYPE_CHECKING:
    from plugyard_analysis.context import PluginContext

CAPABILITIES = ("network", "filesystem_read", "filesystem_write", "subprocess", "env", "dynamic_code", "native")


@dataclass(frozen=True)
class Use:
    """One place where the code uses a capability, with what the rules need to compare it with the manifest."""

    capability: str
    line: int | None
    what: str
    paths: tuple[str, ...] = ()  # filesystem: absolute literal paths the access names (as written, normalized)
    env_names: tuple[str, ...] = ()  # env: the literal variable names read or written
    env_kind: str = ""  # env: "names" (literal names read), "whole", "computed", "write", "child"
    hosts: tuple[tuple[str, int | None], ...] = ()  # network: literal (host, port) the call names


# --- network ---------------------------------------------------------------------------------------

# modules whose import alone means network access (the module exists to talk to the network)
NETWORK_MODULES = frozenset({
    "requests", "httpx", "aiohttp", "urllib3", "httplib2", "treq", "pycurl", "requests_toolbelt",
    "requests_oauthlib", "websockets", "websocket", "wsproto", "paramiko", "asyncssh", "fabric", "grpc",
    "nats", "zmq", "pika", "aio_pika", "kombu", "redis", "aioredis", "pymongo", "motor", "psycopg2",
    "psycopg", "asyncpg", "pymysql", "MySQLdb", "aiomysql", "cassandra", "elasticsearch", "boto3",
    "botocore", "aiobotocore", "kafka", "aiokafka", "confluent_kafka", "paho", "scapy", "ldap3",
    "dns.resolver", "dns.query", "smtplib", "ftplib", "poplib", "imaplib", "nntplib", "telnetlib",
    "xmlrpc.client", "xmlrpc.server", "socketserver", "http.server", "smtpd", "aiosmtplib",
    "tornado.httpclient", "twisted.internet", "pysftp", "mechanize", "selenium", "playwright",
})
NETWORK_CALLS = frozenset({
    "socket.socket", "socket.create_connection", "socket.create_server", "socket.getaddrinfo",
    "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr", "socket.fromfd",
    "socket.getnameinfo", "urllib.request.urlopen", "urllib.request.urlretrieve", "urllib.request.Request",
    "urllib.request.build_opener", "urllib.request.OpenerDirector", "urllib.request.install_opener",
    "http.client.HTTPConnection", "http.client.HTTPSConnection", "asyncio.open_connection",
    "asyncio.start_server", "asyncio.open_unix_connection", "asyncio.start_unix_server",
    "ssl.get_server_certificate", "ssl.create_connection",
})
NETWORK_METHODS = frozenset({"create_connection", "open_connection", "create_datagram_endpoint", "create_server", "sock_connect"})
# method names whose URL/host argument is kept when the file talks to the network
HOST_METHODS = frozenset({
    "get", "post", "put", "patch", "delete", "head", "options", "request", "stream", "send", "fetch",
    "urlopen", "urlretrieve", "open", "connect", "connect_ex", "sendto", "ws_connect", "websocket_connect",
    "create_connection", "open_connection", "Request", "ServerProxy", "Session", "Client", "AsyncClient",
    "ClientSession", "HTTPConnection", "HTTPSConnection", "SMTP", "SMTP_SSL", "FTP", "FTP_TLS", "IMAP4",
    "IMAP4_SSL", "POP3", "POP3_SSL", "Telnet", "PoolManager", "HTTPConnectionPool", "HTTPSConnectionPool",
})
HOST_FIRST = frozenset({
    "HTTPConnection", "HTTPSConnection", "SMTP", "SMTP_SSL", "LMTP", "FTP", "FTP_TLS", "IMAP4", "IMAP4_SSL", "POP3",
    "POP3_SSL", "Telnet", "NNTP", "NNTP_SSL", "getaddrinfo", "gethostbyname", "gethostbyname_ex", "create_connection",
    "open_connection", "HTTPConnectionPool", "HTTPSConnectionPool", "connection_from_url",
})
NOT_NETWORK_PREFIXES = ("os.", "sys.", "shutil.", "io.", "re.", "json.", "webbrowser.", "sqlite3.", "pathlib.", "tempfile.", "zipfile.", "tarfile.", "gzip.", "codecs.", "importlib.")
HOST_KEYWORDS = ("url", "host", "hostname", "address", "uri", "endpoint", "base_url", "server", "servers", "dsn")
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21, "ftps": 990, "smtp": 25, "smtps": 465, "nats": 4222, "redis": 6379, "grpc": None}
_URL = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*)://(?:[^@/\s?#]*@)?(?P<host>\[[0-9a-f:.]+\]|[^:/\s?#]+)(?::(?P<port>\d{1,5}))?(?:[/?#]\S*)?", re.I)
_HOSTNAME = re.compile(r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\.?|localhost|(?:\d{1,3}\.){3}\d{1,3}", re.I)
_URL_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp", "ftps", "smtp", "smtps", "tcp", "udp", "grpc", "nats", "redis", "rediss", "mqtt", "amqp", "amqps", "mongodb", "postgres", "postgresql", "mysql", "ssh", "sftp", "telnet", "irc"})

# --- subprocess ------------------------------------------------------------------------------------

SUBPROCESS_CALLS = frozenset({
    "subprocess.Popen", "subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output",
    "subprocess.getoutput", "subprocess.getstatusoutput", "os.system", "os.popen", "os.startfile",
    "os.posix_spawn", "os.posix_spawnp", "pty.spawn", "asyncio.create_subprocess_exec",
    "asyncio.create_subprocess_shell", "webbrowser.open", "webbrowser.open_new", "webbrowser.open_new_tab",
    "commands.getoutput", "commands.getstatusoutput", "platform.popen", "popen2.popen2", "popen2.popen3",
})
SUBPROCESS_PREFIXES = ("os.exec", "os.spawn")
SUBPROCESS_MODULES = frozenset({"pexpect", "sh", "plumbum", "sarge", "delegator", "envoy"})
SUBPROCESS_METHODS = frozenset({"subprocess_exec", "subprocess_shell"})

# --- dynamic code ----------------------------------------------------------------------------------

CODE_BUILTINS = frozenset({"exec", "eval", "compile", "builtins.exec", "builtins.eval", "builtins.compile"})
IMPORT_BY_NAME = frozenset({"__import__", "builtins.__import__", "importlib.import_module", "importlib.__import__"})
DYNAMIC_CALLS = frozenset({
    "marshal.loads", "marshal.load", "runpy.run_path", "runpy.run_module", "imp.load_source", "imp.load_module",
    "imp.load_compiled", "importlib.util.spec_from_file_location", "importlib.machinery.SourceFileLoader",
    "importlib.machinery.SourcelessFileLoader", "types.FunctionType", "types.CodeType", "code.InteractiveInterpreter",
    "code.InteractiveConsole", "code.interact",
})

# --- native ----------------------------------------------------------------------------------------

NATIVE_MODULES = frozenset({"ctypes", "_ctypes", "cffi"})
NATIVE_CALLS = frozenset({
    "ctypes.CDLL", "ctypes.WinDLL", "ctypes.OleDLL", "ctypes.PyDLL", "ctypes.cdll.LoadLibrary",
    "ctypes.windll.LoadLibrary", "ctypes.oledll.LoadLibrary", "ctypes.pydll.LoadLibrary", "ctypes.LibraryLoader",
    "ctypes.util.find_library", "cffi.FFI", "importlib.machinery.ExtensionFileLoader", "imp.load_dynamic",
    "sys.setdlopenflags", "_ctypes.dlopen",
})
NATIVE_METHODS = frozenset({"dlopen", "LoadLibrary"})

# --- filesystem ------------------------------------------------------------------------------------

# call -> (index of the path argument, default mode); the mode argument is the next positional or mode=
OPEN_CALLS = {
    "open": "r", "builtins.open": "r", "io.open": "r", "codecs.open": "r", "gzip.open": "rb", "bz2.open": "rb",
    "lzma.open": "rb", "tarfile.open": "r", "zipfile.ZipFile": "r", "gzip.GzipFile": "rb", "bz2.BZ2File": "r",
    "lzma.LZMAFile": "r", "io.FileIO": "r", "dbm.open": "r", "aiofiles.open": "r", "fileinput.input": "r",
    "pathlib.Path.open": "r",
}
WRITE_FIRST = frozenset({
    "os.remove", "os.unlink", "os.rmdir", "os.removedirs", "os.mkdir", "os.makedirs", "os.chmod", "os.lchmod",
    "os.chown", "os.lchown", "os.truncate", "os.utime", "os.mkfifo", "os.mknod", "os.chflags", "shutil.rmtree",
    "shutil.chown", "shutil.make_archive", "shelve.open", "sqlite3.connect", "os.setxattr", "os.removexattr",
    "os.path.touch",
})
WRITE_SECOND = frozenset({
    "os.rename", "os.renames", "os.replace", "os.link", "os.symlink", "shutil.copy", "shutil.copy2",
    "shutil.copyfile", "shutil.copytree", "shutil.move", "shutil.copymode", "shutil.copystat", "shutil.unpack_archive",
})
READ_FIRST = frozenset({"os.listdir", "os.scandir", "os.walk", "os.fwalk", "glob.glob", "glob.iglob", "os.readlink"})
# pathlib-style methods that say what they do whatever the receiver is called
PATH_METHODS_WRITE = frozenset({"write_text", "write_bytes", "mkdir", "unlink", "rmdir", "touch", "symlink_to", "hardlink_to"})
PATH_METHODS_READ = frozenset({"read_text", "read_bytes", "iterdir"})
# pathlib methods whose names other objects use too: only when the receiver is built from pathlib
PATH_METHODS_AMBIGUOUS = {"rename": "w", "replace": "w", "chmod": "w", "lchmod": "w", "open": "?", "glob": "r", "rglob": "r"}
OWN_FILE_NAMES = frozenset({"__file__", "__spec__", "__path__", "__loader__"})
OWN_OR_SCRATCH_PREFIXES = ("tempfile.", "importlib.resources.", "importlib_resources.", "pkg_resources.resource_", "pkgutil.get_data", "io.BytesIO", "io.StringIO")
SCRATCH_PATHS = ("/tmp", "/var/tmp", "/dev/shm", "/dev/null", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty")
_WINDOWS_ABSOLUTE = re.compile(r"[A-Za-z]:[\\/]")

_JOINS = frozenset({
    "os.path.join", "posixpath.join", "ntpath.join", "pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath",
    "pathlib.PurePosixPath", "pathlib.WindowsPath", "pathlib.PureWindowsPath",
})
_SAME_PATH = frozenset({
    "os.path.expanduser", "os.path.expandvars", "os.path.abspath", "os.path.realpath", "os.path.normpath",
    "os.fspath", "str", "os.fsencode", "os.fsdecode",
})
ENV_READ_METHODS = frozenset({"get", "__getitem__", "setdefault", "pop", "__contains__"})
ENV_WHOLE_METHODS = frozenset({"copy", "items", "keys", "values", "__iter__", "__repr__", "__str__", "__len__", "__or__", "__ror__"})
ENV_WRITE_METHODS = frozenset({"update", "clear", "__setitem__", "__delitem__", "popitem", "__ior__"})
ENVIRON = ("os.environ", "os.environb")
_ENV_KEYWORDS = frozenset({"env", "environ", "environment"})


MAX_VALUES = 8  # assignments of one variable followed when tracing a value


class InferenceFailed(Exception):
    """The inference could not finish on a file; the capability rules turn this into SCAN-RULE-ERROR."""


def uses(src: SourceFile) -> list[Use]:
    """Every capability use in one source file (computed once per file, then cached on it). Never raises: the
    engine calls it outside any error handling; a failure is kept (`inference_error`) and re-raised by
    the capability rules, which the engine reports as SCAN-RULE-ERROR (the file is not judged clean)."""
    cached = src.__dict__.get("_capability_uses")
    if cached is None:
        try:
            cached = _Inference(src).run()
        except (Exception, RecursionError, MemoryError) as exc:  # noqa: BLE001 - recorded, re-raised by the rules
            if type(exc).__name__ == "FileTimeLimit":
                raise
            src.__dict__["_capability_error"] = f"{type(exc).__name__}: {exc}"[:300]
            cached = []
        src.__dict__["_capability_uses"] = cached
    return cached


def inference_error(src: SourceFile) -> str | None:
    """Why the capabilities of `src` could not be inferred, or None."""
    uses(src)
    return src.__dict__.get("_capability_error")


def infer_capabilities(src: SourceFile) -> dict[str, list[Evidence]]:
    found: dict[str, list[Evidence]] = {}
    seen: set[tuple[str, int | None, str]] = set()
    for use in uses(src):
        key = (use.capability, use.line, use.what)
        if key in seen:
            continue
        seen.add(key)
        found.setdefault(use.capability, []).append(Evidence(src.path, use.line, use.what))
    return found


# --- bundled compiled code -------------------------------------------------------------------------

NATIVE_SUFFIXES = (".so", ".pyd", ".dll", ".dylib", ".exe", ".sys", ".o", ".a", ".lib", ".node", ".wasm")
BYTECODE_SUFFIXES = (".pyc", ".pyo")


def bundled_code(file: PluginFile) -> tuple[str, bool] | None:
    """What kind of compiled code `file` is, and whether it is native (machine code) rather than Python
    bytecode; None for anything that is not compiled code (text, images, archives, data)."""
    data = file.data
    head = data[:64]
    name = file.name.lower()
    if head.startswith(b"\x7fELF"):
        return "an ELF binary", True
    if head.startswith(b"MZ") and _is_pe(data):
        return "a Windows PE binary", True
    if head[:4] in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf"):
        return "a Mach-O binary", True
    if head[:4] == b"\xca\xfe\xba\xbe" and len(head) >= 8:
        count = int.from_bytes(head[4:8], "big")
        return ("a universal Mach-O binary", True) if 0 < count < 45 else ("a Java class file", False)
    if head.startswith(b"\x00asm"):
        return "a WebAssembly module", True
    if head.startswith(b"!<arch>\n"):
        return "a static library archive", True
    if name.endswith(BYTECODE_SUFFIXES) or _is_bytecode(head):
        return "Python bytecode", False
    suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    if re.search(r"\.so(\.\d+)+$", name):
        suffix = ".so"
    if suffix in NATIVE_SUFFIXES:
        # named as a library or program: the loader or the OS would treat it as one
        return f"a file named as compiled code ({suffix})", True
    return None


def _is_pe(data: bytes) -> bool:
    if len(data) < 0x40:
        return False
    offset = int.from_bytes(data[0x3C:0x40], "little")
    return 0 < offset < len(data) - 4 and data[offset:offset + 4] == b"PE\x00\x00"


def _is_bytecode(head: bytes) -> bool:
    """A .pyc header: a 2-byte little-endian magic number of a CPython 3 release, then b'\\r\\n'."""
    if len(head) < 16 or head[2:4] != b"\r\n":
        return False
    return 3000 <= int.from_bytes(head[0:2], "little") < 4000


def plugin_capabilities(ctx: PluginContext) -> dict[str, list[Evidence]]:
    """The plugin's capabilities: its sources' (`ctx.capabilities`) plus native code bundled as files. The
    bundled files' evidence is added to `ctx.capabilities` (once) so the report lists them too."""
    if not ctx.__dict__.get("_bundled_code_added"):
        ctx.__dict__["_bundled_code_added"] = True
        for file in ctx.files:
            kind = bundled_code(file)
            if kind is not None and kind[1]:
                ctx.capabilities.setdefault("native", []).append(Evidence(file.path, None, f"bundles {kind[0]}"))
    return {capability: evidence for capability, evidence in ctx.capabilities.items() if evidence}


# --- the inference ---------------------------------------------------------------------------------


def _last(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _argument(call: ast.Call, position: int, *keywords: str) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg in keywords:
            return keyword.value
    if len(call.args) > position and not isinstance(call.args[position], ast.Starred):
        return call.args[position]
    return None


def _literal(expr: ast.AST | None) -> str | None:
    return expr.value if isinstance(expr, ast.Constant) and isinstance(expr.value, str) else None


def _absolute(path: str) -> bool:
    return path.startswith("/") or bool(_WINDOWS_ABSOLUTE.match(path))


def _scratch(path: str) -> bool:
    normalized = posixpath.normpath(path) if path.startswith("/") else path
    return any(normalized == p or normalized.startswith(p + "/") for p in SCRATCH_PATHS)


class _Inference:
    def __init__(self, src: SourceFile) -> None:
        self.src = src
        self.index: ModuleIndex = src.index
        self.out: list[Use] = []
        self.module_names = self._module_level_names()
        self._parents: dict[int, ast.AST] | None = None
        self.uses_asyncio = self.index.imports_any("asyncio", "uvloop", "trio", "anyio")
        self._partial_parents: dict[int, ast.AST] = {}
        self._env_arguments: dict[int, set[str]] | None = None

    def run(self) -> list[Use]:
        self._imports()
        for call in self.index.calls:
            name = call.name or _anonymous_name(call.node)
            if name:
                self._call(call, name)
        self._environ_references()
        if any(use.capability == "network" for use in self.out):
            self._hosts()
        return self.out

    def add(self, capability: str, node: ast.AST | int | None, what: str, **extra: object) -> None:
        line = node if isinstance(node, int) or node is None else getattr(node, "lineno", None)
        self.out.append(Use(capability, line, what, **extra))  # type: ignore[arg-type]

    def _module_level_names(self) -> set[str]:
        names: set[str] = set()
        module = self.index.module
        if module is None:
            return names
        for statement in module.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(statement.name)
        names.update(name for (scope, name) in self.index.assignments if scope == id(module))
        return names

    # imports ---------------------------------------------------------------------------------------

    def _imports(self) -> None:
        typing_only = self._type_checking_lines()
        for module in sorted(self.index.imported_modules):
            line = self.index.import_lines.get(module)
            if module.startswith(".") or (line is not None and any(start <= line <= end for start, end in typing_only)):
                continue
            self._imported(module, line)

    def _type_checking_lines(self) -> list[tuple[int, int]]:
        """Line ranges of module-level `if TYPE_CHECKING:` blocks: imports there only serve type annotations."""
        module = self.index.module
        if module is None:
            return []
        ranges = []
        for statement in module.body:
            if isinstance(statement, ast.If) and self.index.resolve(statement.test).endswith("TYPE_CHECKING") and statement.body:
                ranges.append((statement.body[0].lineno, statement.body[-1].end_lineno or statement.body[-1].lineno))
        return ranges

    def _imported(self, module: str, line: int | None) -> None:
        top = module.split(".")[0]
        two = ".".join(module.split(".")[:2])
        if top in NETWORK_MODULES or two in NETWORK_MODULES:
            self.add("network", line, f"imports {module}")
        if top in NATIVE_MODULES:
            self.add("native", line, f"imports {module}")
        if top in SUBPROCESS_MODULES:
            self.add("subprocess", line, f"imports {module}")

    # calls -----------------------------------------------------------------------------------------

    def _call(self, call: CallSite, name: str) -> None:
        node = call.node
        method = _last(name)
        if name in IMPORT_BY_NAME:
            target = _literal(_argument(node, 0, "name"))
            if target is None:
                self.add("dynamic_code", node, f"imports a module chosen at run time ({name})")
            else:
                self._imported(target, node.lineno)
            return
        if name in CODE_BUILTINS:
            bare = name.rsplit(".", 1)[-1]
            if name == bare and bare in self.module_names:
                return  # the module's own eval/compile/exec
            code = _argument(node, 0, "source", "object", "expression")
            if code is not None and _literal(code) is None:
                self.add("dynamic_code", node, f"calls {bare} on code built at run time")
            return
        if name in DYNAMIC_CALLS:
            self.add("dynamic_code", node, f"calls {name}")
            return
        if name in NATIVE_CALLS or (method in NATIVE_METHODS and "." in name):
            self.add("native", node, f"calls {name}")
            return
        if name in SUBPROCESS_CALLS or name.startswith(SUBPROCESS_PREFIXES) or (method in SUBPROCESS_METHODS and "." in name):
            self.add("subprocess", node, f"calls {name}")
            return
        if name in NETWORK_CALLS or (method in NETWORK_METHODS and "." in name and self.uses_asyncio):
            self.add("network", node, f"calls {name}")
            return
        if name in ("os.getenv", "os.getenvb") or (name.startswith(ENVIRON) and name.count(".") == 2):
            self._environ_call(call, name)
            return
        if name in ("os.putenv", "os.unsetenv"):
            variable = _literal(_argument(node, 0, "key", "name"))
            self.add("env", node, f"calls {name}" + (f" ({variable})" if variable else ""), env_kind="write", env_names=(variable,) if variable else ())
            return
        self._filesystem(call, name, method)

    # filesystem ------------------------------------------------------------------------------------

    def _filesystem(self, call: CallSite, name: str, method: str) -> None:
        node = call.node
        if name in OPEN_CALLS:
            if name == "open" and "open" in self.module_names:
                return
            path = _argument(node, 0, "file", "filename", "name", "path", "fileobj", "name_or_obj", "files", "database")
            mode_expr = _argument(node, 1, "mode", "flag")
            self._open(call, path, mode_expr, OPEN_CALLS[name], f"{name}")
            return
        if name == "os.open":
            path = _argument(node, 0, "path")
            flags = _argument(node, 1, "flags")
            writes = flags is not None and any(
                isinstance(n, (ast.Attribute, ast.Name)) and _last(self.index.resolve(n)) in ("O_WRONLY", "O_RDWR", "O_CREAT", "O_APPEND", "O_TRUNC")
                for n in ast.walk(flags)
            )
            self._path_use(call, path, "filesystem_write" if writes else "filesystem_read", "calls os.open")
            return
        if name in WRITE_FIRST:
            path = _argument(node, 0, "path", "name", "filename", "database", "base_name", "src")
            if name == "sqlite3.connect" and _literal(path) in (":memory:", ""):
                return
            self._path_use(call, path, "filesystem_write", f"calls {name}")
            return
        if name in WRITE_SECOND:
            self._path_use(call, _argument(node, 1, "dst", "extract_dir"), "filesystem_write", f"calls {name}")
            return
        if name in READ_FIRST:
            path = _argument(node, 0, "path", "top", "pathname")
            if path is None and name in ("os.listdir", "os.scandir"):
                path = ast.Constant(".")
            self._path_use(call, path, "filesystem_read", f"calls {name}")
            return
        if not isinstance(node.func, ast.Attribute) or name.startswith(("os.", "sys.", "io.", "re.", "json.", "shutil.", "tempfile.")):
            return
        receiver = node.func.value
        if method in PATH_METHODS_WRITE:
            self._path_use(call, receiver, "filesystem_write", f"calls .{method}()")
        elif method in PATH_METHODS_READ:
            self._path_use(call, receiver, "filesystem_read", f"calls .{method}()")
        elif method in PATH_METHODS_AMBIGUOUS and (name.startswith("pathlib.") or self._from_pathlib(receiver, call.scope)):
            if method == "open":
                self._open(call, receiver, _argument(node, 0, "mode"), "r", "Path.open")
            elif PATH_METHODS_AMBIGUOUS[method] == "w":
                self._path_use(call, receiver, "filesystem_write", f"calls Path.{method}()")
            else:
                self._path_use(call, receiver, "filesystem_read", f"calls Path.{method}()")

    def _from_pathlib(self, receiver: ast.AST, scope: Scope) -> bool:
        return self.index.derives_from(receiver, scope, lambda site: site.name.startswith(("pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "pathlib.WindowsPath")), depth=2) is not None

    def _open(self, call: CallSite, path: ast.expr | None, mode_expr: ast.expr | None, default: str, name: str) -> None:
        if mode_expr is None:
            modes = [default]
        else:
            modes = [m for m in self.index.strings_in(mode_expr, call.scope) if m]
        writes = any(ch in mode for mode in modes for ch in "wax+")
        if name == "dbm.open":
            writes = any(ch in mode for mode in modes for ch in "wcn")
        shown = modes[0] if len(modes) == 1 else ("run-time mode" if not modes else "/".join(modes))
        self._path_use(call, path, "filesystem_write" if writes else "filesystem_read", f"calls {name} (mode {shown!r})")

    def _path_use(self, call: CallSite, path: ast.expr | None, capability: str, what: str) -> None:
        if path is None:
            return
        if isinstance(path, ast.Constant) and isinstance(path.value, int):
            return  # a file descriptor
        if self._own_or_scratch(path, call.scope):
            return
        head = self._prefix(path, call.scope)
        if head is not None and head.startswith("/") and _scratch(head):
            return
        absolute = (_normalized(head),) if head is not None and _absolute(head) and head.strip("/\\") else ()
        target = head if head is not None and (_absolute(head) or head.startswith("~")) and head.strip("/\\~") else None
        self.add(capability, call.node, what + (f" on {target!r}" if target else ""), paths=absolute)

    def _prefix(self, expr: ast.AST | None, scope: Scope, depth: int = 3) -> str | None:
        """The literal text a path expression starts with: "/etc/cron.d" for `os.path.join("/etc", "cron.d",
        name)`, `Path("/etc") / "cron.d" / name`, `"/etc/cron.d/" + name` or f"/etc/cron.d/{name}"; None when
        it does not start with a literal. Strings elsewhere in the expression (`p.replace("/", "_")`) do not count."""
        text, _ = self._literal_start(expr, scope, depth)
        return text

    def _literal_start(self, expr: ast.AST | None, scope: Scope, depth: int) -> tuple[str | None, bool]:
        """(the literal start of `expr`, whether `expr` is that literal entirely)."""
        if expr is None or depth < 0:
            return None, False
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return expr.value, True
        if isinstance(expr, ast.JoinedStr):
            parts = []
            for value in expr.values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    parts.append(value.value)
                else:
                    return ("".join(parts) or None), False
            return "".join(parts), True
        if isinstance(expr, ast.BinOp):
            left, complete = self._literal_start(expr.left, scope, depth)
            if left is None:
                return None, False
            if isinstance(expr.op, ast.Mod):
                return left.split("%", 1)[0] or None, False
            if not complete or not isinstance(expr.op, (ast.Add, ast.Div)):
                return left, False
            right, right_complete = self._literal_start(expr.right, scope, depth)
            if right is None:
                return left, False
            joined = left + right if isinstance(expr.op, ast.Add) else posixpath.join(left, right)
            return joined, right_complete
        if isinstance(expr, ast.Name):
            for value in self.index.values_of(expr.id, scope)[:3] if depth > 0 else ():
                text, complete = self._literal_start(value, scope, depth - 1)
                if text is not None:
                    return text, complete
            return None, False
        if isinstance(expr, ast.Call):
            name = self.index.resolve(expr.func)
            method = _last(name) if name else (expr.func.attr if isinstance(expr.func, ast.Attribute) else "")
            if name in _JOINS or method == "joinpath":
                pieces = list(expr.args)
                if method == "joinpath" and isinstance(expr.func, ast.Attribute) and name not in _JOINS:
                    pieces.insert(0, expr.func.value)
                joined: str | None = None
                for piece in pieces:
                    text, complete = self._literal_start(piece, scope, depth)
                    if text is None:
                        return joined, False
                    joined = text if joined is None or text.startswith("/") else posixpath.join(joined, text)
                    if not complete:
                        return joined, False
                return joined, True
            if name in _SAME_PATH and expr.args:
                return self._literal_start(expr.args[0], scope, depth)[0], False
            if method == "format" and isinstance(expr.func, ast.Attribute):
                text, _ = self._literal_start(expr.func.value, scope, depth)
                return (text.split("{", 1)[0] or None) if text is not None else None, False
            if method in ("resolve", "absolute", "expanduser", "with_name", "with_suffix", "with_stem") and isinstance(expr.func, ast.Attribute):
                return self._literal_start(expr.func.value, scope, depth)[0], False
        if isinstance(expr, ast.Attribute) and expr.attr == "parent":
            text, _ = self._literal_start(expr.value, scope, depth)
            return (posixpath.dirname(text.rstrip("/")) or None) if text else None, False
        return None, False

    def _own_or_scratch(self, expr: ast.AST, scope: Scope, depth: int = 3) -> bool:
        """Is the path computed from the module's own location, package resources or the tempfile module?"""
        for node in value_nodes(expr, limit=300):
            if isinstance(node, ast.Name):
                if node.id in OWN_FILE_NAMES:
                    return True
                if depth > 0:
                    for value in self.index.values_of(node.id, scope)[:MAX_VALUES]:
                        if self._own_or_scratch(value, scope, depth - 1):
                            return True
            elif isinstance(node, ast.Call):
                name = self.index.resolve(node.func)
                if name.startswith(OWN_OR_SCRATCH_PREFIXES) or name in ("sys._MEIPASS",):
                    return True
            elif isinstance(node, ast.Attribute) and node.attr in OWN_FILE_NAMES:
                return True
        return False

    # env -------------------------------------------------------------------------------------------

    def _environ_call(self, call: CallSite, name: str) -> None:
        node = call.node
        method = _last(name)
        if name in ("os.getenv", "os.getenvb") or method in ENV_READ_METHODS:
            names = self._literal_names(_argument(node, 0, "key", "k"), call.scope)
            if names:
                shown = ", ".join(names)
                self.add("env", node, f"reads environment variable{'s' if len(names) > 1 else ''} {shown}", env_kind="names", env_names=names)
            else:
                self.add("env", node, f"reads an environment variable named at run time ({name})", env_kind="computed")
        elif method in ENV_WRITE_METHODS:
            self.add("env", node, f"changes the environment ({name})", env_kind="write")
        elif method in ENV_WHOLE_METHODS:
            environ = node.func.value if isinstance(node.func, ast.Attribute) else None
            if environ is not None and self._to_child(environ, call.scope):
                self.add("env", node, "passes the environment to a child process", env_kind="child")
            else:
                self.add("env", node, f"reads the whole environment ({name})", env_kind="whole")

    def _literal_names(self, expr: ast.expr | None, scope: Scope) -> tuple[str, ...]:
        """The variable names `expr` can be when it is a literal, or a variable only ever set to literals (a
        loop over a literal tuple, say); () when the name is computed."""
        literal = _literal(expr)
        if literal is not None:
            return (literal,)
        if not isinstance(expr, ast.Name):
            return ()
        names: list[str] = []
        for value in self.index.values_of(expr.id, scope)[:MAX_VALUES]:
            elements = value.elts if isinstance(value, (ast.Tuple, ast.List, ast.Set)) else [value]
            for element in elements:
                text = _literal(element)
                if text is None:
                    return ()
                names.append(text)
        return tuple(dict.fromkeys(names))[:20]

    def _environ_references(self) -> None:
        """os.environ used other than through a method call: subscripts, `in` tests, iteration, copies."""
        method_bases = {id(read.node.value) for read in self.index.attributes if read.name.startswith(("os.environ.", "os.environb."))}
        references: list[tuple[ast.AST, Scope]] = [
            (read.node, read.scope) for read in self.index.attributes if read.name in ENVIRON and id(read.node) not in method_bases
        ]
        aliases = {alias for alias, full in self.index.imports.items() if full in ENVIRON}
        if aliases:
            parents = self._all_parents()
            for child, scope in self._alias_references(aliases):
                if not (isinstance(parents.get(id(child)), ast.Attribute)):
                    references.append((child, scope))
        for node, scope in references:
            parent = self._parent(node, scope)
            self._environ_reference(node, parent, scope)

    def _environ_reference(self, node: ast.AST, parent: ast.AST | None, scope: Scope) -> None:
        if isinstance(parent, ast.Subscript) and parent.value is node:
            key = parent.slice
            variable = _literal(key)
            if isinstance(parent.ctx, (ast.Store, ast.Del)):
                self.add("env", node, f"sets environment variable {variable}" if variable else "changes the environment", env_kind="write", env_names=(variable,) if variable else ())
            elif variable is not None:
                self.add("env", node, f"reads environment variable {variable}", env_kind="names", env_names=(variable,))
            else:
                self.add("env", node, "reads an environment variable named at run time", env_kind="computed")
            return
        if isinstance(parent, ast.Compare) and node in parent.comparators and isinstance(parent.ops[0], (ast.In, ast.NotIn)):
            variable = _literal(parent.left)
            if variable is not None:
                self.add("env", node, f"checks environment variable {variable}", env_kind="names", env_names=(variable,))
            else:
                self.add("env", node, "checks an environment variable named at run time", env_kind="computed")
            return
        if isinstance(getattr(node, "ctx", None), (ast.Store, ast.Del)):
            self.add("env", node, "changes the environment", env_kind="write")
            return
        if self._to_child(node, scope):
            self.add("env", node, "passes the environment to a child process", env_kind="child")
            return
        self.add("env", node, "reads the whole environment (os.environ)", env_kind="whole")

    def _to_child(self, node: ast.AST, scope: Scope) -> bool:
        """Does this use of os.environ only build the environment of a child process (`env=` of a call)?"""
        current: ast.AST = node
        for _ in range(6):
            parent = self._parent(current, scope)
            if parent is None:
                return False
            if isinstance(parent, ast.keyword):
                return parent.arg in _ENV_KEYWORDS
            if isinstance(parent, (ast.Assign, ast.AnnAssign, ast.NamedExpr)):
                targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
                names = {t.id for t in targets if isinstance(t, ast.Name)}
                return bool(names) and self._passed_as_env(names, scope)
            if isinstance(parent, (ast.Call, ast.Attribute, ast.Dict, ast.Starred, ast.BinOp)):
                if isinstance(parent, ast.Call) and self.index.resolve(parent.func) not in ("dict", "os.environ.copy", "copy.copy", "copy.deepcopy", "") and not _last(self.index.resolve(parent.func)) == "copy":
                    return False
                current = parent
                continue
            return False
        return False

    def _passed_as_env(self, names: set[str], scope: Scope) -> bool:
        """Is one of these variables handed to a call as `env=` in the same scope?"""
        if self._env_arguments is None:
            passed: dict[int, set[str]] = {}
            for call in self.index.calls:
                for keyword in call.node.keywords:
                    if keyword.arg in _ENV_KEYWORDS and isinstance(keyword.value, ast.Name):
                        passed.setdefault(id(call.scope), set()).add(keyword.value.id)
            self._env_arguments = passed
        return bool(names & self._env_arguments.get(id(scope), set()))

    def _alias_references(self, aliases: set[str]) -> Iterator[tuple[ast.AST, Scope]]:
        module = self.index.module
        if module is None:
            return
        stack: list[tuple[ast.AST, Scope]] = [(module, module)]
        while stack:
            node, scope = stack.pop()
            if isinstance(node, ast.Name) and node.id in aliases and isinstance(node.ctx, ast.Load):
                yield node, scope
            inner = node if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)) else scope
            stack.extend((child, inner) for child in ast.iter_child_nodes(node))

    def _all_parents(self) -> dict[int, ast.AST]:
        if self._parents is None:
            parents: dict[int, ast.AST] = {}
            if self.index.module is not None:
                for parent in ast.walk(self.index.module):
                    for child in ast.iter_child_nodes(parent):
                        parents[id(child)] = parent
            self._parents = parents
        return self._parents

    def _parent(self, node: ast.AST, scope: Scope) -> ast.AST | None:
        """The node's parent, from a walk of the one statement of its scope that holds it."""
        if self._parents is not None:
            return self._parents.get(id(node))
        if id(node) in self._partial_parents:
            return self._partial_parents[id(node)]
        line = getattr(node, "lineno", None)
        body = scope.body if isinstance(getattr(scope, "body", None), list) else [getattr(scope, "body", scope)]
        roots = [s for s in body if line is not None and getattr(s, "lineno", 0) <= line <= getattr(s, "end_lineno", 0)] or [scope]
        for root in roots:
            for parent in ast.walk(root):
                for child in ast.iter_child_nodes(parent):
                    self._partial_parents[id(child)] = parent
        return self._partial_parents.get(id(node))

    # network hosts ---------------------------------------------------------------------------------

    def _hosts(self) -> None:
        for call in self.index.calls:
            name = call.name or _anonymous_name(call.node)
            method = _last(name) if name else ""
            top = name.split(".")[0] if name else ""
            networked = (
                name in NETWORK_CALLS
                or top in NETWORK_MODULES
                or ".".join(name.split(".")[:2]) in NETWORK_MODULES
                or (method in HOST_METHODS and "." in name and not name.startswith(NOT_NETWORK_PREFIXES))
            )
            if not networked:
                continue
            hosts: list[tuple[str, int | None]] = []
            first = _argument(call.node, 0)
            if first is not None:
                hosts.extend(self._hosts_in(first, call.scope, bare=method in HOST_FIRST))
            for keyword in call.node.keywords:
                if keyword.arg in HOST_KEYWORDS:
                    hosts.extend(self._hosts_in(keyword.value, call.scope, bare=keyword.arg in ("host", "hostname", "server")))
            if hosts:
                unique = tuple(dict.fromkeys(hosts))
                shown = ", ".join(_show_host(h) for h in unique[:3])
                self.add("network", call.node, f"connects to {shown} ({name})", hosts=unique)

    def _hosts_in(self, argument: ast.expr, scope: Scope, bare: bool) -> list[tuple[str, int | None]]:
        """Literal hosts in a network call's argument: URLs, (host, port) tuples, and bare host names where
        the argument is a host (`bare`: HTTPSConnection("host"), SMTP("host"), host=...)."""
        found: list[tuple[str, int | None]] = []
        if isinstance(argument, ast.Tuple) and argument.elts:
            host = self.index.strings_in(argument.elts[0], scope)
            port = argument.elts[1] if len(argument.elts) > 1 else None
            port_value = port.value if isinstance(port, ast.Constant) and isinstance(port.value, int) else None
            for text in host:
                if _HOSTNAME.fullmatch(text):
                    found.append((text.lower().rstrip("."), port_value))
            return found
        for text in self.index.strings_in(argument, scope):
            match = _URL.match(text.strip())
            if match and match.group("scheme").lower() in _URL_SCHEMES:
                host = match.group("host").lower().rstrip(".")
                if "{" in host or "%" in host:
                    continue
                port = int(match.group("port")) if match.group("port") else DEFAULT_PORTS.get(match.group("scheme").lower())
                found.append((host, port))
            elif bare and _HOSTNAME.fullmatch(text):
                found.append((text.lower().rstrip("."), None))
        return found


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _anonymous_name(node: ast.Call) -> str:
    """A method called on an expression without a name (`Path(p).write_text`, `Session().get`): "().attr"."""
    return f"().{node.func.attr}" if isinstance(node.func, ast.Attribute) else ""


def _show_host(host: tuple[str, int | None]) -> str:
    return f"{host[0]}:{host[1]}" if host[1] else host[0]


def _normalized(path: str) -> str:
    if path.startswith("/"):
        normalized = posixpath.normpath(path)
        return "/" + normalized.lstrip("/") if normalized.startswith("//") else normalized
    return path


