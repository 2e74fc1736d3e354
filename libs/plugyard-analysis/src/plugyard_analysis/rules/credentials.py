"""Credential and input-capture rules.

- PY-CRED-EXFIL (critical): credential stores (SSH keys, cloud and tool credentials, browser password and cookie
  stores, crypto wallets, Discord tokens, keyrings, a dump of the whole environment) read in a module that
  also sends data out (HTTP POST, socket send, mail, FTP, messenger), or credential data flowing into a request;
- PY-CRED-READ (medium): a credential store is read, without a send in the same module;
- PY-ENV-DUMP (medium): the whole environment is serialised (json.dumps, repr, pickle, pformat, ...); copies
  for a child process's env and filtered iteration are everyday code and do not count;
- PY-CLIPBOARD (medium; high with a send or when the clipboard is rewritten with a crypto address): the
  clipboard is read;
- PY-KEYLOGGER (high; medium for a bare hook that stores and sends nothing): global keystroke capture.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

from plugyard_analysis.pyindex import CallSite, ModuleIndex, Scope
from plugyard_analysis.context import PluginContext
from plugyard_analysis.rulebook import Hit, RuleInfo, plugin_rule, python_rule
from plugyard_analysis.rules._behaviour_util import (
    ModuleFacts,
    all_arguments,
    argument,
    constant_str,
    facts,
    keyword,
    last_part,
    process_command,
    render,
    short,
    trace,
)
from plugyard_analysis.sources import SourceFile

CRED_EXFIL = RuleInfo(
    "PY-CRED-EXFIL",
    "behaviour",
    "critical",
    "Credentials (SSH keys, cloud tokens, browser passwords or cookies, wallets, Discord tokens, keyrings or the whole environment) are collected and sent out",
    cwe=200,
)
CRED_READ = RuleInfo(
    "PY-CRED-READ",
    "behaviour",
    "medium",
    "Credential stores of the user (SSH keys, cloud or tool tokens, browser or wallet files, keyrings) are accessed",
    confidence="medium",
)
ENV_DUMP = RuleInfo(
    "PY-ENV-DUMP",
    "behaviour",
    "medium",
    "The whole process environment (which holds tokens and passwords) is serialised",
    confidence="medium",
    cwe=526,
)
CLIPBOARD = RuleInfo(
    "PY-CLIPBOARD",
    "behaviour",
    "medium",
    "The clipboard is read (passwords and wallet addresses pass through it)",
    confidence="medium",
    cwe=200,
)
KEYLOGGER = RuleInfo(
    "PY-KEYLOGGER",
    "behaviour",
    "high",
    "Keystrokes are captured system-wide (a keyboard hook or key-state polling) and recorded or sent",
    cwe=506,
)

# --- credential stores ------------------------------------------------------------------------------------

# phrases with spaces that still belong in a path (a string with any other space is prose, not a path)
PATH_PHRASES = (
    "login data for account", "login data", "web data", "local state", "local storage", "session storage", "user data",
    "application support", "program files (x86)", "program files", "opera software", "opera stable", "opera gx stable",
    "telegram desktop", "google chrome", "microsoft edge", "brave browser", "local extension settings", "atomic wallet",
    "ledger live", "jaxx liberty", "chrome safe storage", "brave safe storage", "chromium safe storage",
)

BROWSER_CONTEXT = (
    "google/chrome", "google\\chrome", "google-chrome", "chromium", "bravesoftware", "microsoft/edge", "microsoft\\edge",
    "mozilla/firefox", "mozilla\\firefox", ".mozilla", "opera software", "yandexbrowser", "vivaldi", "user data",
)
BROWSER_NAMES = frozenset({"Chrome", "Chromium", "Firefox", "BraveSoftware", "Brave-Browser", "Yandex", "Vivaldi", "Opera Software", "Microsoft Edge"})
BROWSER_FILES = frozenset({"Cookies", "Local State", "Web Data"})  # Chromium's files, by their exact (capitalised) names


@dataclass(frozen=True)
class Access:
    kind: str  # what is accessed, e.g. "SSH private keys"
    node: ast.AST
    strong: bool  # no ordinary plugin reads it (browser stores, wallets, Discord tokens, keyring sweeps)


def path_like(value: str) -> bool:
    if len(value) > 300 or "\n" in value:
        return False
    text = value.lower()
    for phrase in PATH_PHRASES:
        text = text.replace(phrase, "")
    return " " not in text.strip() and "\t" not in text


def _element(value: str, name: str) -> bool:
    """`value` is the path element `name` or a path that contains/ends with it."""
    return value == name or value.endswith(("/" + name, "\\" + name)) or ("/" + name + "/") in value or ("\\" + name + "\\") in value or value.startswith((name + "/", name + "\\"))


def _normalise(value: str) -> str:
    return value.lower().replace("\\\\", "\\")


SIMPLE_TOKENS: tuple[tuple[str, str, bool], ...] = (
    # (lowercase substring, kind, strong)
    (".aws/credentials", "AWS credentials", False),
    (".aws\\credentials", "AWS credentials", False),
    ("application_default_credentials.json", "Google Cloud credentials", False),
    ("gcloud/credentials.db", "Google Cloud credentials", False),
    ("gcloud/access_tokens.db", "Google Cloud credentials", False),
    ("gcloud/legacy_credentials", "Google Cloud credentials", False),
    (".config/gcloud", "Google Cloud credentials", False),
    ("gcloud\\credentials.db", "Google Cloud credentials", False),
    (".azure/accesstokens.json", "Azure credentials", False),
    (".azure/msal_token_cache", "Azure credentials", False),
    (".azure\\accesstokens.json", "Azure credentials", False),
    (".azure\\msal_token_cache", "Azure credentials", False),
    (".kube/config", "Kubernetes config", False),
    (".kube\\config", "Kubernetes config", False),
    (".docker/config.json", "Docker registry credentials", False),
    (".docker\\config.json", "Docker registry credentials", False),
    (".git-credentials", "git credentials", False),
    ("gh/hosts.yml", "GitHub CLI token", False),
    ("/etc/shadow", "system password hashes", True),
    ("login data", "browser saved passwords", True),
    ("key4.db", "Firefox password store", True),
    ("key3.db", "Firefox password store", True),
    ("signons.sqlite", "Firefox password store", True),
    ("cookies.sqlite", "browser cookies", True),
    ("chrome safe storage", "browser password key", True),
    ("brave safe storage", "browser password key", True),
    ("chromium safe storage", "browser password key", True),
    ("wallet.dat", "crypto wallet", True),
    ("exodus.wallet", "crypto wallet", True),
    ("electrum/wallets", "crypto wallet", True),
    ("electrum\\wallets", "crypto wallet", True),
    ("ethereum/keystore", "crypto wallet", True),
    ("ethereum\\keystore", "crypto wallet", True),
    ("nkbihfbeogaeaoehlefnkodbefgpgknn", "crypto wallet (MetaMask)", True),
    ("com.liberty.jaxx", "crypto wallet", True),
    ("atomic/local storage", "crypto wallet", True),
    ("atomic\\local storage", "crypto wallet", True),
    ("filezilla/recentservers.xml", "FileZilla saved logins", True),
    ("filezilla\\recentservers.xml", "FileZilla saved logins", True),
    ("filezilla/sitemanager.xml", "FileZilla saved logins", True),
    ("filezilla\\sitemanager.xml", "FileZilla saved logins", True),
)
BASENAMES: dict[str, tuple[str, bool]] = {
    ".netrc": ("netrc credentials", False),
    "_netrc": ("netrc credentials", False),
    ".pypirc": ("PyPI upload token", False),
    ".npmrc": ("npm token", False),
    ".git-credentials": ("git credentials", False),
    "recentservers.xml": ("FileZilla saved logins", True),
    "sitemanager.xml": ("FileZilla saved logins", True),
}
TOKEN_KINDS = {token: (kind, strong) for token, kind, strong in SIMPLE_TOKENS}
TOKENS = re.compile("|".join(re.escape(t) for t, _, _ in sorted(SIMPLE_TOKENS, key=lambda t: -len(t[0]))))
SSH_PRIVATE = re.compile(r"(?:^|[\\/])id_(?:rsa|dsa|ecdsa|ed25519|ecdsa_sk|ed25519_sk|\*)$")
DISCORD_TOKEN_REGEX = re.compile(r"mfa\\\.\[|dQw4w9WgXcQ:|\{2[4-6]\}\\\.\[\\w-\]\{6\}\\\.")
PAIRS: tuple[tuple[str, tuple[str, ...], str, bool], ...] = (
    # (path element, any of these elements elsewhere in the module, kind, strong)
    (".aws", ("credentials",), "AWS credentials", False),
    (".azure", ("accesstokens.json", "msal_token_cache.json", "msal_token_cache.bin"), "Azure credentials", False),
    (".kube", ("config",), "Kubernetes config", False),
    (".docker", ("config.json",), "Docker registry credentials", False),
    ("gcloud", ("credentials.db", "access_tokens.db", "application_default_credentials.json", "legacy_credentials"), "Google Cloud credentials", False),
    ("electrum", ("wallets",), "crypto wallet", True),
    (".electrum", ("wallets",), "crypto wallet", True),
    ("ethereum", ("keystore",), "crypto wallet", True),
    ("exodus", ("exodus.wallet",), "crypto wallet", True),
    ("telegram desktop", ("tdata",), "Telegram session", True),
    ("filezilla", ("recentservers.xml", "sitemanager.xml"), "FileZilla saved logins", True),
)


# a string worth a closer look: everything the checks below can match contains one of these (lowercase)
CANDIDATE_PARTS = tuple(sorted({t for t, _, _ in SIMPLE_TOKENS} | {
    "id_", ".ssh", "cookies", "local state", "web data", "logins.json", "discord", "leveldb", "local storage", "netrc", "pypirc",
    "npmrc", "git-credentials", "recentservers", "sitemanager", ".aws", ".azure", ".kube", ".docker", "gcloud", "electrum",
    "ethereum", "exodus", "telegram desktop", "filezilla",
}))


_MINIMAL_PARTS = [p for p in CANDIDATE_PARTS if not any(q != p and q in p for q in CANDIDATE_PARTS)]
_CANDIDATE = re.compile("|".join(re.escape(p) for p in sorted(_MINIMAL_PARTS, key=len, reverse=True)))


def candidate(value: str) -> bool:
    return _CANDIDATE.search(value.lower()) is not None


def credential_accesses(src: SourceFile) -> list[Access]:
    """The credential stores the module refers to (computed once per module: several rules ask)."""
    memo = facts(src).memo
    if "credential_accesses" not in memo:
        memo["credential_accesses"] = _credential_accesses(src)
    return list(memo["credential_accesses"])  # type: ignore[call-overload]


def _credential_accesses(src: SourceFile) -> list[Access]:
    module = facts(src)
    found: dict[str, Access] = {}

    def add(kind: str, node: ast.AST, strong: bool) -> None:
        found.setdefault(kind, Access(kind, node, strong))

    code_strings = [s for s in module.code_strings if len(s.value) <= 300]
    candidates = [(s, text) for s in code_strings if candidate(s.value) for text in (_normalise(s.value),) if path_like(text)]
    if candidates:
        values: list[set[str]] = []

        def all_values() -> set[str]:
            if not values:
                values.append({_normalise(s.value) for s in code_strings})
            return values[0]

        elements: dict[str, bool] = {}

        def present(name: str) -> bool:
            if name not in elements:
                elements[name] = any(_element(other, name) for other in all_values())
            return elements[name]

        ssh_dir = any(_element(text, ".ssh") or ".ssh/" in text for _, text in candidates)
        discord = any("discord" in text for _, text in candidates)
        browser: list[bool] = []

        def browser_context() -> bool:
            if not browser:
                browser.append(any(any(b in text for b in BROWSER_CONTEXT) for text in all_values()) or any(s.value in BROWSER_NAMES for s in code_strings))
            return browser[0]

        for string, text in candidates:
            for token in TOKENS.findall(text):
                kind, strong = TOKEN_KINDS[token]
                add(kind, string.node, strong)
            base = re.split(r"[\\/]", text)[-1]
            if base in BASENAMES:
                kind, strong = BASENAMES[base]
                add(kind, string.node, strong)
            if SSH_PRIVATE.search(text) and (ssh_dir or ".ssh" in text):
                add("SSH private keys", string.node, False)
            if (re.split(r"[\\/]", string.value)[-1] in BROWSER_FILES or base == "logins.json") and browser_context():
                add("browser cookies and keys" if base != "logins.json" else "Firefox password store", string.node, True)
            if discord and ("leveldb" in text or "local storage" in text):
                add("Discord tokens", string.node, True)
            for element, partners, kind, strong in PAIRS:
                if _element(text, element) and any(present(p) for p in partners):
                    add(kind, string.node, strong)
    for string in module.code_strings:
        if ("{6}" in string.value or "mfa" in string.value or "dQw4" in string.value) and DISCORD_TOKEN_REGEX.search(string.value):
            add("Discord tokens", string.node, True)
            break
    index = facts(src).index
    for site in index.calls_to("win32crypt.CryptUnprotectData", "ctypes.windll.crypt32.CryptUnprotectData", "win32cred.CredEnumerate"):
        add("Windows protected credentials", site.node, True)
    for site in index.calls:  # `windll.crypt32.CryptUnprotectData(...)` through an alias
        if last_part(site.name) in ("CryptUnprotectData", "CredEnumerateW", "CredEnumerateA"):
            add("Windows protected credentials", site.node, True)
    sweep = _keyring_sweep(index)
    if sweep is not None:
        add("keyring secrets", sweep, True)
    for site in index.calls_to("secretstorage.*"):
        if last_part(site.name) in ("get_all_collections", "get_default_collection", "search_items"):
            add("Secret Service secrets", site.node, True)
            break
    for site in module.process_calls:
        command = process_command(site.node, site.name)
        text = render(index, command, site.scope).lower() if command is not None else ""
        if re.search(r"\bsecurity\b.*\b(?:dump-keychain|find-generic-password|find-internet-password)\b", text):
            add("macOS keychain", site.node, True)
        elif re.search(r"\bcmdkey\b.*/list|\bvaultcmd\b", text):
            add("Windows credential vault", site.node, True)
    return sorted(found.values(), key=lambda a: getattr(a.node, "lineno", 0))


def _keyring_sweep(index: ModuleIndex) -> ast.AST | None:
    """keyring.get_password over many services (a literal list, a loop, or three or more service names)."""
    calls = index.calls_to("keyring.get_password", "keyring.get_credential")
    services: set[str] = set()
    for site in calls:
        service = argument(site.node, 0, "service_name")
        literal = constant_str(service)
        if literal is not None:
            services.add(literal)
            continue
        if isinstance(service, ast.Name):
            for value in index.values_of(service.id, site.scope):
                if isinstance(value, (ast.List, ast.Tuple, ast.Set)) and len(value.elts) >= 2:
                    return site.node
                if isinstance(value, ast.Name):  # `for s in SERVICES`
                    for inner in index.values_of(value.id, site.scope):
                        if isinstance(inner, (ast.List, ast.Tuple, ast.Set)) and len(inner.elts) >= 2:
                            return site.node
    if len(services) >= 3:
        return calls[0].node
    return None


# --- the environment --------------------------------------------------------------------------------------

SERIALISERS = frozenset({"json.dumps", "json.dump", "str", "repr", "pprint.pformat", "yaml.dump", "yaml.safe_dump", "pickle.dumps", "marshal.dumps", "base64.b64encode", "urllib.parse.urlencode", "toml.dumps"})
COPIERS = frozenset({"dict", "copy.copy", "copy.deepcopy", "collections.OrderedDict"})  # not list()/sorted(): those are the names only
ENVIRON = frozenset({"os.environ", "os.environb", "posix.environ"})


@dataclass(frozen=True)
class EnvDump:
    node: ast.AST
    scope: Scope
    serialised: bool
    how: str


def _is_environ(index: ModuleIndex, node: ast.AST | None) -> bool:
    return isinstance(node, (ast.Name, ast.Attribute)) and index.resolve(node) in ENVIRON


def env_dump_node(index: ModuleIndex, node: ast.AST, name: str) -> str | None:
    """How `node` exposes the whole environment, or None."""
    if isinstance(node, ast.Call):
        first = node.args[0] if node.args else None
        if name in SERIALISERS and first is not None and (_is_environ(index, first) or (isinstance(first, ast.Call) and env_dump_node(index, first, index.resolve(first.func)) is not None)):
            return f"{name}(os.environ)"
        if name in COPIERS and _is_environ(index, first):
            return f"{name}(os.environ)"
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("copy", "items", "values") and _is_environ(index, node.func.value):
            return f"os.environ.{node.func.attr}()"
        return None
    if isinstance(node, ast.Dict) and any(k is None and _is_environ(index, v) for k, v in zip(node.keys, node.values)):
        return "{**os.environ}"
    if isinstance(node, ast.FormattedValue) and _is_environ(index, node.value):
        return "f'{os.environ}'"
    return None


def env_dumps(src: SourceFile) -> list[EnvDump]:
    index = facts(src).index
    dumps: list[EnvDump] = []
    for site in index.calls:
        how = env_dump_node(index, site.node, site.name)
        if how is None:
            continue
        serialised = site.name in SERIALISERS
        dumps.append(EnvDump(site.node, site.scope, serialised, how))
    return dumps


def _for_child_or_restore(index: ModuleIndex, dump: EnvDump) -> bool:
    """A copy of the environment made for a child process's env, or to restore it later."""
    for site in index.calls:
        if site.scope is not dump.scope:
            continue
        if keyword(site.node, "env") is not None or keyword(site.node, "environ") is not None:
            return True
        if site.name.startswith(("os.exec", "os.spawn", "os.posix_spawn")) and site.name.endswith(("e", "spawn", "spawnp")):
            return True
        if site.name in ("os.environ.clear", "os.environ.update"):
            return True
    return False


def _flows_into(index: ModuleIndex, site: CallSite, pred) -> ast.AST | None:
    for expr in all_arguments(site.node):
        found = trace(index, expr, site.scope, pred)
        if found is not None:
            return found
    return None


def _env_flow(index: ModuleIndex, site: CallSite, helpers: dict[str, ast.AST]) -> ast.AST | None:
    """The environment dump that reaches the arguments of `site`, directly, through variables, or returned by
    a function of the module (`requests.post(URL, json=collect())`)."""
    for kw in site.node.keywords:
        if _is_environ(index, kw.value):
            return kw.value

    def pred(node: ast.AST, name: str) -> bool:
        if env_dump_node(index, node, name) is not None:
            return True
        if isinstance(node, ast.Call) and any(_is_environ(index, value) for value in all_arguments(node)):
            return True  # the whole environment handed to a function (`encode(os.environ)`) on its way out
        return isinstance(node, ast.Call) and name in helpers

    found = _flows_into(index, site, pred)
    if isinstance(found, ast.Call) and index.resolve(found.func) in helpers:
        return helpers[index.resolve(found.func)]
    return found


def _env_helpers(src: SourceFile, dumps: list[EnvDump]) -> dict[str, ast.AST]:
    """Module functions that dump the environment for other purposes than a child process: name -> the dump."""
    index = facts(src).index
    helpers: dict[str, ast.AST] = {}
    for dump in dumps:
        scope = dump.scope
        if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)) and not _for_child_or_restore(index, dump):
            helpers.setdefault(scope.name, dump.node)
    return helpers


def _mentions_environ(index: ModuleIndex) -> bool:
    return any(read.name in ENVIRON for read in index.attributes) or any(v in ENVIRON for v in index.imports.values())


# --- the rules --------------------------------------------------------------------------------------------


def _outbound(module: ModuleFacts):
    """Sends, and any HTTP request (data can leave in a URL too), each once."""
    seen: set[int] = set()
    for send in module.sends:
        seen.add(id(send.site.node))
        yield send.site, send.what
    for site in module.http_requests:
        if id(site.node) not in seen:
            yield site, f"{site.name}()"


@python_rule(CRED_EXFIL)
def cred_exfil(src: SourceFile) -> Iterator[Hit]:
    module = facts(src)
    index = facts(src).index
    if not (module.sends or module.http_requests):
        return
    # the whole environment flows into a request
    dumps = env_dumps(src)
    helpers = _env_helpers(src, dumps)
    for site, what in _outbound(module) if dumps or _mentions_environ(index) else ():
        found = _env_flow(index, site, helpers)
        if found is not None:
            yield Hit(f"the environment ({short(ast.unparse(found), 40)}, line {found.lineno}) is sent by {what}", node=site.node)
            return
    if not module.sends:
        return
    send = module.sends[0]
    accesses = credential_accesses(src)
    serialised = [d for d in dumps if d.serialised]
    if serialised:
        accesses.append(Access(f"the whole environment ({serialised[0].how})", serialised[0].node, True))
    if not accesses:
        return
    kinds = ", ".join(f"{a.kind} (line {getattr(a.node, 'lineno', '?')})" for a in accesses[:4])
    yield Hit(f"reads {kinds} and sends data out with {send.what}", node=send.site.node)


@plugin_rule(CRED_EXFIL)
def cred_exfil_across_modules(plugin: PluginContext) -> Iterator[Hit]:
    """A stealer split over modules: one collects browser/wallet/token stores, another sends. Only the stores no
    ordinary plugin reads count here (a module reading ~/.netrc next to an HTTP client module is normal)."""
    senders = [src for src in plugin.sources if facts(src).sends]
    if not senders:
        return
    for src in plugin.sources:
        if facts(src).sends:
            continue  # judged by the module rule
        strong = [a for a in credential_accesses(src) if a.strong]
        if strong:
            other = senders[0]
            send = facts(other).sends[0]
            kinds = ", ".join(a.kind for a in strong[:4])
            line = getattr(strong[0].node, "lineno", None)
            yield Hit(f"reads {kinds}; {other.path} sends data out with {send.what} (line {send.site.node.lineno})", path=src.path, line=line)


@python_rule(CRED_READ)
def cred_read(src: SourceFile) -> Iterator[Hit]:
    module = facts(src)
    if module.sends:
        accesses = credential_accesses(src)
        if accesses:
            return  # PY-CRED-EXFIL reports it
    else:
        accesses = credential_accesses(src)
    for access in accesses:
        yield Hit(f"accesses {access.kind}", node=access.node)


@python_rule(ENV_DUMP)
def env_dump(src: SourceFile) -> Iterator[Hit]:
    module = facts(src)
    index = facts(src).index
    dumps = env_dumps(src)
    if not dumps:
        return
    if module.sends and any(d.serialised for d in dumps):
        return  # PY-CRED-EXFIL reports it
    helpers = _env_helpers(src, dumps)
    for site, _ in _outbound(module):
        if _env_flow(index, site, helpers) is not None:
            return  # PY-CRED-EXFIL reports it
    reported: set[int] = set()
    for dump in dumps:
        if not dump.serialised:
            continue  # copies (for a child's env, to restore later) and iteration (to filter) are everyday code
        line = dump.node.lineno  # type: ignore[attr-defined]
        if line not in reported:
            reported.add(line)
            yield Hit(f"{dump.how}", node=dump.node)


# --- clipboard --------------------------------------------------------------------------------------------

CLIPBOARD_READS = frozenset(
    {
        "pyperclip.paste", "clipboard.paste", "win32clipboard.GetClipboardData", "ctypes.windll.user32.GetClipboardData",
        "pandas.read_clipboard", "klembord.get", "klembord.get_text", "xerox.paste", "richxerox.paste", "jaraco.clipboard.paste_text",
    }
)
CLIPBOARD_WRITES = frozenset({"pyperclip.copy", "clipboard.copy", "win32clipboard.SetClipboardData", "win32clipboard.SetClipboardText", "ctypes.windll.user32.SetClipboardData", "klembord.set", "xerox.copy"})
CLIPBOARD_COMMANDS = re.compile(r"^\s*(?:xclip\b.*\s-o(?:ut)?\b|xsel\b.*(?:\s-o\b|--output)|pbpaste\b|wl-paste\b|powershell(?:\.exe)?\b.*get-clipboard|get-clipboard\b)", re.I)
ADDRESS_REGEX = re.compile(r"0x\[[^\]]*a-f|\(bc1\||bc1\w*\[|\[13\]|1-9A-HJ-NP-Za-km-z|a-km-zA-HJ-NP-Z|A-HJ-NP-Za-km-z", re.I)
ADDRESS_LITERAL = re.compile(r"^(?:0x[0-9a-fA-F]{40}|bc1[0-9a-z]{25,60}|[13][a-km-zA-HJ-NP-Z1-9]{25,34})$")


def clipboard_reads(src: SourceFile) -> list[CallSite]:
    index = facts(src).index
    found = list(index.calls_to(*CLIPBOARD_READS))
    for site in index.calls:
        func = site.node.func
        if isinstance(func, ast.Attribute):
            if func.attr in ("clipboard_get", "selection_get") and not site.name.startswith(("pyperclip", "self.")) or func.attr == "GetClipboardData":
                found.append(site)
            elif func.attr in ("text", "mimeData") and isinstance(func.value, ast.Call) and last_part(index.resolve(func.value.func)) == "clipboard":
                found.append(site)  # QApplication.clipboard().text()
            elif func.attr in ("wait_for_text", "wait_for_contents", "request_text") and "clipboard" in index.resolve(func.value).lower():
                found.append(site)
    for site in facts(src).process_calls:
        command = process_command(site.node, site.name)
        if command is not None and CLIPBOARD_COMMANDS.search(render(index, command, site.scope)):
            found.append(site)
    return sorted({id(s.node): s for s in found}.values(), key=lambda s: s.node.lineno)


def _clipper(src: SourceFile) -> bool:
    """The clipboard is rewritten, and the module carries a crypto-address pattern: a clipboard hijacker."""
    index = facts(src).index
    writes = index.calls_to(*CLIPBOARD_WRITES) or [s for s in index.calls if last_part(s.name) in ("clipboard_append", "SetClipboardData", "SetClipboardText")]
    if not writes:
        for site in facts(src).process_calls:
            command = process_command(site.node, site.name)
            if command is not None and re.search(r"^\s*(?:xclip|xsel|pbcopy|wl-copy|clip(?:\.exe)?\b|set-clipboard)", render(index, command, site.scope), re.I):
                writes.append(site)
    if not writes:
        return False
    return any(ADDRESS_REGEX.search(s.value) or ADDRESS_LITERAL.match(s.value) for s in facts(src).code_strings if len(s.value) < 300)


@python_rule(CLIPBOARD)
def clipboard(src: SourceFile) -> Iterator[Hit]:
    reads = clipboard_reads(src)
    if not reads:
        return
    module = facts(src)
    first = reads[0]
    name = first.name or last_part(ast.unparse(first.node.func))
    if _clipper(src):
        yield Hit(f"{name}() reads the clipboard and the module replaces it matching crypto-wallet addresses (clipboard hijacking)", node=first.node, severity="high")
    elif module.sends:
        yield Hit(f"{name}() reads the clipboard in a module that sends data out ({module.sends[0].what}, line {module.sends[0].site.node.lineno})", node=first.node, severity="high")
    else:
        yield Hit(f"{name}() reads the clipboard", node=first.node)


# --- keystrokes -------------------------------------------------------------------------------------------

KEY_HOOKS = frozenset(
    {
        "pynput.keyboard.Listener", "pynput.keyboard.Events", "keyboard.hook", "keyboard.on_press", "keyboard.on_release",
        "keyboard.record", "keyboard.start_recording", "pyxhook.HookManager", "pyHook.HookManager", "pyWinhook.HookManager",
        "PyHook3.HookManager", "Xlib.ext.record.create_context", "evdev.InputDevice",
    }
)
KEY_STATE = ("GetAsyncKeyState", "GetKeyboardState")  # not GetKeyState: GUIs use it to check Shift/Ctrl
HOOK_INSTALL = ("SetWindowsHookExA", "SetWindowsHookExW", "SetWindowsHookEx")


def key_hooks(src: SourceFile) -> list[tuple[CallSite, str]]:
    index = facts(src).index
    found: list[tuple[CallSite, str]] = []
    for site in index.calls_to(*KEY_HOOKS):
        if site.name == "pynput.keyboard.Listener" and not (site.node.args or any(kw.arg in ("on_press", "on_release") for kw in site.node.keywords)):
            continue
        if site.name == "evdev.InputDevice" and not any("event" in s or "kbd" in s for s in index.strings_in(argument(site.node, 0), site.scope)):
            continue
        found.append((site, f"{site.name}()"))
    for site in index.calls:
        part = last_part(site.name)
        if part in KEY_STATE and index.imports_any("ctypes", "win32api", "win32con", "pywintypes"):
            found.append((site, f"{part}() key-state polling"))
        elif part in HOOK_INSTALL and site.node.args:
            hook_id = site.node.args[0]
            if (isinstance(hook_id, ast.Constant) and hook_id.value in (2, 13)) or "KEYBOARD" in render(index, hook_id, site.scope).upper():
                found.append((site, f"{part}() keyboard hook"))
    return found


def _records(src: SourceFile) -> str | None:
    """How the module keeps or ships what it captures: a send, an appended/written file, a log file."""
    module = facts(src)
    if module.sends:
        return module.sends[0].what
    index = facts(src).index
    for site in index.calls:
        if site.name in ("open", "io.open", "codecs.open"):
            mode = constant_str(argument(site.node, 1, "mode")) or ""
            if "a" in mode:
                return f"appends to a file (line {site.node.lineno})"
        elif site.name == "logging.basicConfig" and keyword(site.node, "filename") is not None:
            return f"logs to a file (line {site.node.lineno})"
        elif site.name in ("logging.FileHandler", "logging.handlers.RotatingFileHandler"):
            return f"logs to a file (line {site.node.lineno})"
    return None


@python_rule(KEYLOGGER)
def keylogger(src: SourceFile) -> Iterator[Hit]:
    hooks = key_hooks(src)
    if not hooks:
        return
    site, what = hooks[0]
    kept = _records(src)
    if kept is not None:
        yield Hit(f"{what} captures keystrokes, and the module {kept if kept.startswith(('appends', 'logs')) else 'sends data with ' + kept}", node=site.node)
    else:
        yield Hit(f"{what} captures keystrokes system-wide", node=site.node, severity="medium")
