"""Network abuse rules: reverse shells, exfiltration through messenger webhooks and through DNS lookups.

- PY-REVERSE-SHELL (critical): a socket's descriptor duplicated onto stdin/stdout/stderr before a shell runs,
  a process whose stdio is a socket, `pty.spawn` in a module that connects a socket, commands received over a
  socket run as processes, or a reverse-shell command line (`bash -i >& /dev/tcp/…`, `nc -e`, `mkfifo … nc`);
- PY-WEBHOOK-EXFIL (high): a hard-coded Discord/Slack webhook or Telegram bot URL (with its token) as a send target;
- PY-DNS-EXFIL (high): host names built from encoded data or from several pieces of system information
  (user, host name, working directory) looked up through DNS.
"""

from __future__ import annotations

import ast
import base64
import binascii
import re
from collections.abc import Iterator

from plugyard_analysis.pyindex import CallSite, ModuleIndex, Scope, StringConstant
from plugyard_analysis.rulebook import Hit, RuleInfo, python_rule
from plugyard_analysis.rules._behaviour_util import (
    argument,
    constant_str,
    direct,
    facts,
    is_socket_constructor,
    keyword,
    last_part,
    process_command,
    receiver_origin,
    render,
    short,
    trace,
)
from plugyard_analysis.sources import SourceFile

REVERSE_SHELL = RuleInfo(
    "PY-REVERSE-SHELL",
    "behaviour",
    "critical",
    "A shell is bound to a network socket (reverse or bind shell, or commands received over a socket are run)",
    cwe=506,
)
WEBHOOK_EXFIL = RuleInfo(
    "PY-WEBHOOK-EXFIL",
    "behaviour",
    "high",
    "Data is sent to a hard-coded Discord/Slack webhook or Telegram bot, a common exfiltration channel of stealers",
    cwe=200,
)
DNS_EXFIL = RuleInfo(
    "PY-DNS-EXFIL",
    "behaviour",
    "high",
    "Encoded data or system information is smuggled out inside DNS host names",
    cwe=200,
)

# --- reverse shells ---------------------------------------------------------------------------------------

SHELL_COMMANDS = [
    # an interactive shell or the shell's stdin wired to /dev/tcp (not `echo > /dev/tcp/host/port` port probes)
    re.compile(r"\b(?:ba|z|k|da)?sh\s+-i\b[^\n]*/dev/(?:tcp|udp)/", re.I),
    re.compile(r"/dev/(?:tcp|udp)/[^\n]*(?:0>&\s*1|0<&\s*\d|\b(?:ba|z|k|da)?sh\b\s*<&\s*\d)", re.I),
    re.compile(r"/dev/(?:tcp|udp)/[^\n]*\bwhile\s+read\b[^\n]*\$\w+[^\n]*>&\s*\d", re.I),
    re.compile(r"\b(?:nc|ncat|netcat)(?:\.exe)?\s[^\n;|&]*-(?:e|c)\s+\S*(?:sh|bash|cmd|powershell)\b", re.I),
    re.compile(r"\bmkfifo\b.*\b(?:nc|ncat|netcat|telnet|openssl\s+s_client)\b", re.I | re.S),
    re.compile(r"\bsocat\b.*\bexec:.*\b(?:tcp|ssl|openssl)(?:-connect|-listen)?:|\bsocat\b.*\b(?:tcp|ssl|openssl)(?:-connect|-listen)?:.*\bexec:", re.I | re.S),
    re.compile(r"\btelnet\s+\S+\s+\d+\s*\|\s*/bin/(?:ba)?sh", re.I),
    re.compile(r"Net\.Sockets\.TCPClient.*(?:GetStream|iex\b|Invoke-Expression)", re.I | re.S),
    re.compile(r"\bsocket\b.*\bconnect\b.*\bdup2\b.*(?:subprocess|pty|/bin/(?:ba)?sh)", re.S),
]
STDIO = {"sys.stdin", "sys.stdout", "sys.stderr", "sys.__stdin__", "sys.__stdout__", "sys.__stderr__"}


def _std_fd(index: ModuleIndex, node: ast.AST | None) -> bool:
    if isinstance(node, ast.Constant) and node.value in (0, 1, 2):
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "fileno":
        return index.resolve(node.func.value) in STDIO
    return False


def _from_socket(index: ModuleIndex, expr: ast.AST | None, scope: Scope) -> bool:
    return trace(index, expr, scope, is_socket_constructor) is not None


def _shell_text(text: str) -> bool:
    return any(pattern.search(text) for pattern in SHELL_COMMANDS)


@python_rule(REVERSE_SHELL)
def reverse_shell(src: SourceFile) -> Iterator[Hit]:
    index = facts(src).index
    module = facts(src)
    reported: set[int] = set()

    def report(node: ast.AST, detail: str) -> Iterator[Hit]:
        if node.lineno not in reported:  # type: ignore[attr-defined]
            reported.add(node.lineno)  # type: ignore[attr-defined]
            yield Hit(detail, node=node)

    spawns = [s for s in module.process_calls] + index.calls_to("code.interact", "os.execl", "os.execv", "os.execve", "os.execlp", "os.execvp")
    # 1. os.dup2(sock.fileno(), 0/1/2) then a shell
    if spawns:
        for site in index.calls_to("os.dup2"):
            if len(site.node.args) >= 2 and _std_fd(index, site.node.args[1]) and _from_socket(index, site.node.args[0], site.scope):
                yield from report(site.node, f"os.dup2() puts a socket on the standard streams, then {spawns[0].name}() (line {spawns[0].node.lineno}) runs")
                break
    for site in module.process_calls:
        call = site.node
        # 2. a process whose stdin/stdout is the socket
        for stream in ("stdin", "stdout", "stderr"):
            value = keyword(call, stream)
            if value is not None and _from_socket(index, value, site.scope):
                yield from report(call, f"{site.name}() runs with its {stream} bound to a socket")
                break
        command = process_command(call, site.name)
        if command is None:
            continue
        # 4. commands received over a socket are run
        received = direct(index, command, site.scope, _socket_read(index, site.scope))
        if received is not None:
            yield from report(call, f"{site.name}() runs a command received over a socket (line {received.lineno})")
            continue
        # 5. a reverse-shell command line
        text = render(index, command, site.scope)
        if _shell_text(text):
            yield from report(call, f"{site.name}() runs a reverse-shell command: {short(text)}")
    # 3. pty.spawn in a module that connects a socket
    if module.socket_connect_lines:
        for site in index.calls_to("pty.spawn"):
            yield from report(site.node, f"pty.spawn() gives a terminal to a socket connected at line {module.socket_connect_lines[0]}")
    # 4b. socket data written into a process's stdin (`p.stdin.write(s.recv(1024))`)
    for site in index.calls:
        func = site.node.func
        if isinstance(func, ast.Attribute) and func.attr == "write" and isinstance(func.value, ast.Attribute) and func.value.attr == "stdin" and site.node.args:
            if direct(index, site.node.args[0], site.scope, _socket_read(index, site.scope)) is not None and module.process_calls:
                yield from report(site.node, "data received over a socket is fed to a process's stdin")
    # 5b. reverse-shell command lines anywhere in a module that runs processes or code
    if module.process_calls or module.exec_calls:
        for string in module.code_strings:
            if len(string.value) < 2000 and _shell_text(string.value):
                yield from report(string.node, f"a reverse-shell command line: {short(string.value)}")


def _socket_read(index: ModuleIndex, scope: Scope):
    def pred(node: ast.AST, name: str) -> bool:
        return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("recv", "recvfrom", "recv_into", "makefile")

    return pred


# --- webhooks ---------------------------------------------------------------------------------------------

WEBHOOKS = [
    (re.compile(r"discord(?:app)?\.com/api/(?:v\d+/)?webhooks/(\d{6,})/([\w-]{20,})", re.I), "a Discord webhook"),
    (re.compile(r"hooks\.slack\.com/(?:services|workflows|triggers)/(\w+)/(\w+)/(\w{8,})", re.I), "a Slack webhook"),
    (re.compile(r"api\.telegram\.org/(?:file/)?bot(\d{5,}):([\w-]{20,})", re.I), "a Telegram bot"),
]
TELEGRAM_TOKEN = re.compile(r"^\d{6,}:[\w-]{30,}$")
WEBHOOK_PREFIXES = (
    (re.compile(r"discord(?:app)?\.com/api/(?:v\d+/)?webhooks", re.I), "Discord webhook"),
    (re.compile(r"hooks\.slack\.com/services", re.I), "Slack webhook"),
    (re.compile(r"api\.telegram\.org/bot", re.I), "Telegram bot"),
)
# the secret part of each, hard-coded on its own: Discord's webhook token (68 characters, or id/token), a
# Telegram bot token (digits:35 characters), a Slack path (T…/B…/24 characters)
HEX = re.compile(r"^[0-9a-fA-F]+$")  # digests are not tokens
WEBHOOK_SECRETS = {
    "Discord webhook": re.compile(r"^(?:/?\d{17,20}/)?(?=[\w-]*[A-Za-z])(?=[\w-]*\d)[\w-]{30,100}$"),
    "Telegram bot": re.compile(r"^(?:bot)?\d{6,12}:[\w-]{30,40}$"),
    "Slack webhook": re.compile(r"^/?T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/\w{20,}$"),
}
MESSENGER_CLIENTS = frozenset(
    {
        "discord_webhook.DiscordWebhook", "discord_webhook.AsyncDiscordWebhook", "dhooks.Webhook", "discord.Webhook.from_url",
        "discord.SyncWebhook.from_url", "discord.SyncWebhook.partial", "telebot.TeleBot", "telebot.AsyncTeleBot",
        "telegram.Bot", "slack_sdk.webhook.WebhookClient", "pymsteams.connectorcard",
    }
)


def _placeholder(token: str) -> bool:
    return len(set(token.lower())) <= 3 or "xxxx" in token.lower() or "your" in token.lower() or "token" in token.lower()


def _webhook(text: str) -> str | None:
    for pattern, what in WEBHOOKS:
        found = pattern.search(text)
        if found and not any(_placeholder(part) for part in found.groups()):
            return what
    return None


@python_rule(WEBHOOK_EXFIL)
def webhook_exfil(src: SourceFile) -> Iterator[Hit]:
    index = facts(src).index
    module = facts(src)
    targets: list[CallSite] = [*module.http_requests, *(send.site for send in module.sends)]
    reported: set[int] = set()
    for site in targets + index.calls_to(*MESSENGER_CLIENTS):
        if site.node.lineno in reported:
            continue
        arguments = site.node.args[:1] + [kw.value for kw in site.node.keywords if kw.arg in ("url", "webhook_url", "token", "hook")]
        for expr in arguments:
            text = render(index, expr, site.scope)
            what = _webhook(text)
            token = text.strip()
            if what is None and site.name.startswith(("telebot.", "telegram.")) and TELEGRAM_TOKEN.match(token) and not _placeholder(token.split(":", 1)[1]):
                what = "a Telegram bot"  # telebot.TeleBot("<id>:<token>"), telegram.Bot(token=...)
            if what is not None:
                reported.add(site.node.lineno)
                yield Hit(f"{site.name or 'a request'}() sends to {what} ({short(text, 60)})", node=site.node)
                break
    if reported or not (targets or module.socket_connect_lines):
        return
    # the URL reaches the request through a helper or a config dict: a hard-coded, complete webhook URL is enough
    prefixes: list[tuple[StringConstant, str]] = []
    secrets: dict[str, StringConstant] = {}
    for string in module.code_strings:
        value = string.value.strip()
        if len(value) > 300 or any(c.isspace() for c in value):
            continue
        if value.lower().startswith("http"):
            what = _webhook(value)
            if what is not None:
                yield Hit(f"hard-coded {what[2:]} URL ({short(value, 60)}) in a module that sends requests", node=string.node)
                return
        for prefix, kind in WEBHOOK_PREFIXES:
            if prefix.search(value):
                prefixes.append((string, kind))
        for kind, pattern in WEBHOOK_SECRETS.items():
            if kind not in secrets and pattern.match(value) and not _placeholder(value) and not HEX.match(value):
                secrets[kind] = string
    # ... or built by an expression (joined pieces), reversed, or base64-encoded
    scopes: dict[int, Scope] = {id(d): d for d in index.definitions}
    for (owner, _), values in index.assignments.items():
        for value in values:
            if isinstance(value, (ast.BinOp, ast.JoinedStr)) or (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr in ("join", "format")):
                text = render(index, value, scopes.get(owner, index.module))  # type: ignore[arg-type]
                what = _webhook(text) if "/" in text else None
                if what is not None:
                    yield Hit(f"{what[2:]} URL assembled in the code ({short(text, 60)}) in a module that sends requests", node=value)
                    return
    for string in module.code_strings:
        value = string.value.strip()
        if 20 <= len(value) <= 400 and not any(c.isspace() for c in value):
            for hidden, how in ((value[::-1], "reversed"), (_unbase64(value), "base64-encoded")):
                what = _webhook(hidden) if hidden else None
                if what is not None:
                    yield Hit(f"{how} {what[2:]} URL in a module that sends requests", node=string.node)
                    return
    # ... or assembled from pieces: the webhook's address and, elsewhere in the module, a secret of its shape
    for string, kind in prefixes:
        if kind in secrets:
            yield Hit(f"{kind} URL assembled from a hard-coded address and token (line {secrets[kind].node.lineno}) in a module that sends requests", node=string.node)
            return


BASE64_TEXT = re.compile(r"^[A-Za-z0-9+/_-]{20,}={0,2}$")


def _unbase64(value: str) -> str | None:
    if not BASE64_TEXT.match(value):
        return None
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_" if ("-" in value or "_" in value) else None).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


# --- DNS --------------------------------------------------------------------------------------------------

DNS_LOOKUPS = frozenset(
    {
        "socket.gethostbyname", "socket.gethostbyname_ex", "socket.getaddrinfo", "socket.getfqdn", "dns.resolver.resolve",
        "dns.resolver.query", "dns.message.make_query", "dns.resolver.resolve_name", "aiodns.DNSResolver.query",
    }
)
LOOKUP_TOOLS = re.compile(r"^\s*(?:nslookup|dig|host|ping|drill)(?:\.exe)?\b", re.I)
ENCODERS = frozenset(
    {
        "base64.b16encode", "base64.b32encode", "base64.b32hexencode", "base64.b64encode", "base64.urlsafe_b64encode",
        "base64.b85encode", "base64.a85encode", "base64.encodebytes", "binascii.hexlify", "binascii.b2a_hex", "binascii.b2a_base64",
    }
)
SYSTEM_INFO = frozenset({"getpass.getuser", "os.getlogin", "socket.gethostname", "platform.node", "os.getcwd", "os.uname", "platform.uname", "uuid.getnode", "socket.getfqdn"})
IDENTITY_VARIABLES = frozenset({"USER", "USERNAME", "LOGNAME", "HOSTNAME", "COMPUTERNAME", "USERDOMAIN", "HOME", "PWD"})
LOCAL_SUFFIXES = (".local", ".localdomain", ".lan", ".internal", ".localhost", ".home.arpa", ".svc", ".cluster.local", ".intranet", ".corp")
DOMAIN = re.compile(r"\.[a-z0-9-]{1,63}\.[a-z][a-z0-9-]{1,62}\.?$|^[a-z0-9-]{1,63}\.[a-z]{2,}\.?$", re.I)


def _built(index: ModuleIndex, expr: ast.AST | None, scope: Scope) -> ast.AST | None:
    """The host-name expression when it is assembled (f-string, +, %, format, join), following variables and
    wrappers that keep the name (`dns.name.from_text(x)`, `str(x)`, `x.lower()`, `x.encode("idna")`)."""
    for _ in range(4):
        if isinstance(expr, ast.Name):
            values = index.values_of(expr.id, scope)
            expr = values[-1] if values else None
            continue
        if isinstance(expr, ast.Call) and expr.args and index.resolve(expr.func) in ("dns.name.from_text", "str", "dns.name.from_unicode"):
            expr = expr.args[0]
            continue
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in ("lower", "upper", "strip", "rstrip", "encode"):
            expr = expr.func.value
            continue
        break
    if isinstance(expr, ast.JoinedStr) or (isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Add, ast.Mod))):
        return expr
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in ("format", "join"):
        return expr
    return None


def _leaks(index: ModuleIndex, expr: ast.AST, scope: Scope) -> str | None:
    encoded: list[str] = []
    info: set[str] = set()

    def pred(node: ast.AST, name: str) -> bool:
        if isinstance(node, ast.Call):
            if name in ENCODERS or (isinstance(node.func, ast.Attribute) and node.func.attr == "hex" and not node.args):
                encoded.append(name or ".hex()")
            elif name in ("codecs.encode",) and (constant_str(argument(node, 1, "encoding")) or "").lower() in ("hex", "hex_codec", "base64", "rot13"):
                encoded.append(name)
            elif name in SYSTEM_INFO:
                info.add(name)
            elif name in ("os.getenv", "os.environ.get") and constant_str(argument(node, 0)) in IDENTITY_VARIABLES:
                info.add(f"${constant_str(argument(node, 0))}")
        elif isinstance(node, ast.Subscript) and index.resolve(node.value) == "os.environ" and constant_str(node.slice) in IDENTITY_VARIABLES:
            info.add(f"${constant_str(node.slice)}")
        return False  # visit everything

    trace(index, expr, scope, pred)
    if encoded:
        return f"data encoded by {encoded[0]}()"
    if len(info) >= 2:
        return "system information (" + ", ".join(sorted(info)) + ")"
    return None


def _external_domain(index: ModuleIndex, expr: ast.AST, scope: Scope) -> str | None:
    text = render(index, expr, scope).strip().rstrip(".")
    tail = re.split(r"[{}]", text)[-1] if "}" in text else text
    tail = tail.strip()
    if not tail or tail.lower().endswith(LOCAL_SUFFIXES) or tail.lower() in ("localhost",):
        return None
    return tail if DOMAIN.search(tail) else None


@python_rule(DNS_EXFIL)
def dns_exfil(src: SourceFile) -> Iterator[Hit]:
    index = facts(src).index
    lookups: list[tuple[CallSite, ast.expr | None]] = [(site, argument(site.node, 0, "qname") or argument(site.node, 0, "host")) for site in index.calls_to(*DNS_LOOKUPS)]
    for site in index.calls:  # resolver.resolve(name) on a dns.resolver.Resolver
        if isinstance(site.node.func, ast.Attribute) and site.node.func.attr in ("resolve", "query") and index.imports_any("dns"):
            if receiver_origin(index, site.node, site.scope, frozenset({"dns.resolver.Resolver", "dns.resolver.get_default_resolver"})):
                lookups.append((site, argument(site.node, 0, "qname")))
    for site in facts(src).process_calls:
        command = process_command(site.node, site.name)
        if isinstance(command, (ast.List, ast.Tuple)) and len(command.elts) >= 2 and LOOKUP_TOOLS.match(constant_str(command.elts[0]) or ""):
            lookups.append((site, command.elts[-1]))
        elif command is not None and LOOKUP_TOOLS.match(render(index, command, site.scope)):
            lookups.append((site, command))
    reported: set[int] = set()
    for site, host in lookups:
        if host is None or site.node.lineno in reported:
            continue
        built = _built(index, host, site.scope)
        if built is None:
            continue
        domain = _external_domain(index, built, site.scope)
        if domain is None:
            continue
        leaked = _leaks(index, built, site.scope)
        if leaked is not None:
            reported.add(site.node.lineno)
            yield Hit(f"{site.name or last_part(site.name)}() looks up a name under {short(domain, 50)} built from {leaked}", node=site.node)

