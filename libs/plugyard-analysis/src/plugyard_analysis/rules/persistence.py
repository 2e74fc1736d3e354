"""PY-PERSISTENCE: code that makes itself (or something else) run again later without being asked: autostart
entries, systemd/launchd units, Windows Run keys and Startup folder, cron, shell start-up files, Python
start-up hooks (sitecustomize, .pth in site-packages), SSH authorized_keys.

Only writes count: reading ~/.bashrc or listing the crontab is not persistence.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from plugyard_analysis.pyindex import ModuleIndex
from plugyard_analysis.rulebook import Hit, RuleInfo, python_rule
from plugyard_analysis.rules._text_util import call_arg, expand, file_writes, normalise_path, path_shape, process_calls, show
from plugyard_analysis.sources import SourceFile

PERSISTENCE = RuleInfo(
    "PY-PERSISTENCE",
    "behaviour",
    "high",
    "Code installs itself to run again later (autostart entry, service unit, Run key, cron job, shell start-up file or Python start-up hook)",
    cwe=506,
)

HOOK_ELSEWHERE = "a sitecustomize module outside site-packages"

# where a written file makes something run at login, boot, on a schedule or at interpreter start
LOCATIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), what)
    for pattern, what in (
        (r"(^|/)\.config/autostart(/|$)", "an XDG autostart entry"),
        (r"^/etc/xdg/autostart(/|$)", "a system-wide XDG autostart entry"),
        (r"(^|/)\.config/systemd/user(/|$)", "a systemd user unit"),
        (r"(^|/)\.local/share/systemd/user(/|$)", "a systemd user unit"),
        (r"^/(etc|lib|usr/lib|run)/systemd/(system|user)(/|$)", "a systemd unit"),
        (r"(^|/)library/launch(agents|daemons)(/|$)", "a launchd agent/daemon"),
        (r"start menu/programs/startup(/|$)", "the Windows Startup folder"),
        (r"^/etc/(crontab|anacrontab|cron\.[a-z]+)(/|$)", "a cron job"),
        (r"^/var/spool/cron(/|$)", "a cron job"),
        (r"^/etc/(rc\.local|init\.d|rc\d\.d|profile\.d)(/|$)", "a boot/login script"),
        (r"^/etc/(profile|bash\.bashrc|zsh/zshrc|zshrc|environment)$", "a system-wide shell start-up file"),
        (r"(^|/)\.(bashrc|bash_profile|bash_login|bash_logout|zshrc|zprofile|zshenv|zlogin|kshrc|cshrc|tcshrc|mkshrc)$", "a shell start-up file"),
        (r"^(~|/root|/home/[^/]+|/users/[^/]+)/\.profile$", "a shell start-up file"),
        (r"(^|/)\.config/fish/(config\.fish|conf\.d/)", "a shell start-up file"),
        (r"(^\$site|^\$prefix|site-packages|dist-packages|/lib/python[\d.]*)/(sitecustomize|usercustomize)\.py$", "a Python start-up hook (sitecustomize)"),
        (r"(^|/)(sitecustomize|usercustomize)\.py$", HOOK_ELSEWHERE),
        (r"(^\$site|site-packages|dist-packages)/[^/]*\.pth$", "a .pth start-up hook in site-packages"),
        (r"(^|/)\.ssh/authorized_keys2?$", "SSH authorized_keys (a login backdoor)"),
    )
)
SHELL_FILE = "a shell start-up file"

REGISTRY_RUN_KEY = re.compile(
    r"currentversion\\+(run|runonce|runonceex|runservices|runservicesonce|policies\\+explorer\\+run)(\\|$)"
    r"|currentversion\\+winlogon|currentversion\\+image file execution options",
    re.I,
)
REGISTRY_OPENS = tuple(f"{module}.{verb}" for module in ("winreg", "_winreg") for verb in ("OpenKey", "OpenKeyEx", "CreateKey", "CreateKeyEx"))
REGISTRY_WRITES = ("winreg.SetValueEx", "winreg.SetValue", "_winreg.SetValueEx", "_winreg.SetValue", "win32api.RegSetValueEx", "win32api.RegSetValue")

# shell commands that register something to run later
COMMANDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.I), what)
    for pattern, what in (
        (r"\bschtasks(\.exe)?\b.*\s/create\b", "creates a Windows scheduled task"),
        (r"\breg(\.exe)?\s+add\b.*currentversion\\+run", "adds a Windows Run key"),
        (r"\blaunchctl\s+(load|bootstrap|submit)\b", "loads a launchd agent"),
        (r"\bsystemctl\s+(--user\s+)?(enable|link)\b", "enables a systemd unit"),
        (r"\bupdate-rc\.d\b.*\b(defaults|enable)\b|\bchkconfig\b.*\bon\b", "enables a boot service"),
        (r">>?\s*\S*(\.bashrc|\.zshrc|\.bash_profile|\.profile|\.zprofile|\.zshenv|/etc/profile|/etc/crontab|/etc/rc\.local)\b", "appends to a start-up file"),
        (r"\btee\s+(-a\s+)?\S*(\.bashrc|\.zshrc|\.bash_profile|\.profile|/etc/crontab|/etc/rc\.local|\.ssh/authorized_keys)\b", "appends to a start-up file"),
        (r">>?\s*\S*/etc/cron[\w./]*|>>?\s*\S*/var/spool/cron", "writes a cron job"),
        (r">>\s*\S*\.ssh/authorized_keys", "adds an SSH key to authorized_keys"),
        (r"\bat\s+now\b", "schedules a job with at"),
    )
)
# `crontab` where a command starts (start, after | ; & ( or sudo), with its arguments
CRONTAB_WORD = re.compile(r"(?:^|[|;&(`]\s*|\bsudo\s+)(?:\S*/)?crontab(?:\.exe)?(?=\s|$|[|;&)`])(?P<args>[^|;&)`]*)")
COMPLETION = re.compile(r"complet|compinit|compdef|argcomplete", re.I)


def location_of(shape: str) -> str | None:
    for path in map(normalise_path, expand(shape)):
        for pattern, what in LOCATIONS:
            if pattern.search(path):
                return what
    return None


def _installs_crontab(command: str) -> bool:
    """`crontab -` or `crontab FILE` install a table; `crontab -l`/`-r` only list or remove it."""
    for match in CRONTAB_WORD.finditer(command):
        words = [w for w in match.group("args").split() if w not in ("2>/dev/null", "2>&1", ">/dev/null")]
        if "-u" in words:
            at = words.index("-u")
            del words[at : at + 2]
        if words and words[0] in ("-l", "-r", "-i", "-ri", "-ir", "-V", "--help"):
            continue
        return True  # `crontab -`, `crontab FILE`, `crontab -e`, or a bare `crontab` reading the new table from stdin
    return False


def _names_run_key(index: ModuleIndex) -> bool:
    """A Run/Winlogon key in a string constant, or built for the key argument of OpenKey/CreateKey."""
    if any(REGISTRY_RUN_KEY.search(s.value) for s in index.strings if len(s.value) < 500):
        return True
    for call in index.calls_to(*REGISTRY_OPENS):
        key = path_shape(index, call_arg(call.node, 1, "sub_key"), call.scope)
        if key is not None and any(REGISTRY_RUN_KEY.search(k.replace("/", "\\")) for k in expand(key)):
            return True
    return False


def _shell_file_severity(src: SourceFile) -> tuple[str | None, str]:
    """A shell start-up file written by a shell-completion installer only warns."""
    if any(COMPLETION.search(s.value) for s in src.index.strings if len(s.value) < 300):
        return "medium", " (looks like a shell-completion installer)"
    return None, ""


@python_rule(PERSISTENCE)
def check_persistence(src: SourceFile) -> Iterator[Hit]:
    index = src.index
    seen: set[int] = set()
    for call, target in file_writes(index):
        shape = path_shape(index, target, call.scope)
        if shape is None:
            continue
        what = location_of(shape)
        if what is None or call.node.lineno in seen:
            continue
        seen.add(call.node.lineno)
        severity, note = _shell_file_severity(src) if what == SHELL_FILE else ("medium", "") if what == HOOK_ELSEWHERE else (None, "")
        shown = show(shape)
        yield Hit(f"writes {what} ({shown}){note}", node=call.node, severity=severity)  # type: ignore[arg-type]

    for call, commands in process_calls(index):
        if call.node.lineno in seen:
            continue
        found = None
        for command in expand(commands)[:8]:
            found = next((what for pattern, what in COMMANDS if pattern.search(command)), None)
            if found is None and _installs_crontab(command):
                found = "installs a crontab"
            if found is not None:
                break
        if found is not None:
            seen.add(call.node.lineno)
            yield Hit(f"{found}: {show(commands)}", node=call.node)

    registry_writes = index.calls_to(*REGISTRY_WRITES)
    if registry_writes and _names_run_key(index):
        for call in registry_writes[:3]:
            yield Hit("sets a value under a Windows Run/Winlogon registry key", node=call.node)

    # python-crontab: CronTab(user=...) then .new(command=...) and .write()
    crontabs = index.calls_to("crontab.CronTab")
    if crontabs and any(isinstance(c.node.func, ast.Attribute) and c.node.func.attr == "new" for c in index.calls) and any(
        isinstance(c.node.func, ast.Attribute) and c.node.func.attr in ("write", "write_to_user") for c in index.calls
    ):
        yield Hit("adds a cron job with python-crontab", node=crontabs[0].node)
