"""bandit as a library: findings keep bandit's ids, levels and CWEs, `# nosec` hides nothing, the already
parsed tree is used, and the results equal bandit's own manager's."""

from __future__ import annotations

import ast
import logging
import os
from pathlib import Path

import pytest

from bandit.core import config as b_config
from bandit.core import manager as b_manager
from plugyard_analysis import bandit_checks
from plugyard_analysis.bandit_checks import BANDIT_RULES, bandit_findings, bandit_issues
from plugyard_analysis.rulebook import REGISTRY
from plugyard_analysis.sources import Unanalysable, parse_python

SHELL = """\
import subprocess
import hashlib

def run(name):
    subprocess.call("ls " + name, shell=True)
    digest = hashlib.md5(name.encode())
    password = "hunter2"
    try:
        pass
    except Exception:
        pass
"""


def findings(text: str, path: str = "pkg/mod.py"):
    return bandit_findings(parse_python(path, text.encode()))


def test_findings_keep_bandit_ids_levels_cwe_and_location() -> None:
    found = {f.rule: f for f in findings(SHELL)}
    shell = found["B602"]
    assert shell.category == "bandit"
    assert shell.severity == "high" and shell.confidence == "high"
    assert shell.cwe == 78
    assert (shell.path, shell.line, shell.column) == ("pkg/mod.py", 5, 4)
    assert shell.snippet == 'subprocess.call("ls " + name, shell=True)'
    assert "B602" in shell.message
    assert found["B404"].severity == "low"  # import subprocess: a blacklist entry
    assert found["B324"].cwe == 327
    assert {"B105", "B110"} <= set(found)


def test_nosec_comments_do_not_hide_findings() -> None:
    hidden = "import subprocess\nsubprocess.call('rm -rf ' + x, shell=True)  # nosec\nsubprocess.call('id', shell=True)  # nosec B602\n"
    rules = [f.rule for f in findings(hidden)]
    assert rules.count("B602") == 2


def test_trojan_source_still_found() -> None:
    text = 'access = "user\u202e \u2066# admin\u2069 \u2066"\n'
    assert "B613" in {f.rule for f in findings(text)}
    assert "B613" not in {f.rule for f in findings('access = "user"\n')}


def test_uses_the_parsed_tree_and_never_reads_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    src = parse_python("pkg/mod.py", SHELL.encode())

    def no_parse(*args, **kwargs):
        raise AssertionError("bandit parsed the source again")

    monkeypatch.setattr(ast, "parse", no_parse)
    monkeypatch.chdir(tmp_path)  # no pkg/mod.py here: nothing may be read from disk
    assert "B602" in {f.rule for f in bandit_findings(src)}


def test_bandit_is_set_up_once_per_process() -> None:
    assert bandit_checks._bandit() is bandit_checks._bandit()


def test_bandit_prints_and_logs_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    class Collect(logging.Handler):
        def __init__(self) -> None:
            super().__init__(logging.DEBUG)
            self.records: list[logging.LogRecord] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.records.append(record)

    root = logging.getLogger()
    handler, level = Collect(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        findings(SHELL)
        findings("import pickle\npickle.loads(b'')\n")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert not [r for r in handler.records if r.name.startswith("bandit")]


def test_bandit_test_ids_are_declared_rules() -> None:
    assert "B602" in BANDIT_RULES and "B404" in BANDIT_RULES
    assert REGISTRY.rules["B602"].category == "bandit"
    assert "B001" not in BANDIT_RULES  # bandit's blacklist dispatcher, not a test of its own


def _manager_issues(root: Path) -> list[tuple]:
    manager = b_manager.BanditManager(b_config.BanditConfig(), "file", ignore_nosec=True, quiet=True)
    manager.discover_files([str(root)], True)
    manager.run_tests()
    return sorted((os.path.relpath(i.fname, root), i.test_id, i.lineno, i.col_offset, i.severity, i.confidence, i.text) for i in manager.results)


def _our_issues(root: Path) -> list[tuple]:
    ours = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        try:
            src = parse_python(relative, path.read_bytes())
        except Unanalysable:
            continue
        ours.extend((relative, i.test_id, i.lineno, i.col_offset, i.severity, i.confidence, i.text) for i in bandit_issues(src))
    return sorted(ours)


SAMPLES = {
    "a.py": SHELL,
    "b.py": """\
import pickle, yaml, tempfile, os, random, ssl, requests, xml.etree.ElementTree as ET
from flask import Flask
app = Flask(__name__)
def f(data, user):
    pickle.loads(data)
    yaml.load(data)
    tempfile.mktemp()
    os.chmod("/tmp/x", 0o777)
    random.random()
    ssl.wrap_socket(None)
    requests.get("https://example.com", verify=False)
    ET.fromstring(data)
    eval(data)
    exec(data)
    assert user
    query = "SELECT * FROM t WHERE a = '%s'" % user
    open("/tmp/file", "w")
    app.run(debug=True)
    while True:
        try:
            break
        except Exception:
            continue
def login(password="secret"):
    pass
class C:
    async def g(self):
        os.system("ls")
""",
    "pkg/__init__.py": "",
    "pkg/c.py": "import telnetlib\nfrom subprocess import Popen as P\nP('ls', shell=True)\nbind = '0.0.0.0'\nkey = b'\\x00'\n",
}


def test_same_issues_as_bandits_own_manager(tmp_path: Path) -> None:
    for name, text in SAMPLES.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    theirs = _manager_issues(tmp_path)
    assert len(theirs) > 20
    assert _our_issues(tmp_path) == theirs


def test_same_issues_as_bandit_on_an_installed_package() -> None:
    import email

    root = Path(email.__file__).parent  # a standard library package: 30-odd files of real code
    assert _our_issues(root) == _manager_issues(root)


def test_a_bandit_failure_is_a_rule_error_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self, tree):
        raise KeyError("context")

    monkeypatch.setattr(bandit_checks._Visitor, "run", broken)
    (finding,) = findings(SHELL)
    assert finding.rule == "SCAN-RULE-ERROR" and finding.category == "unanalysable" and finding.severity == "high"


def test_the_engines_time_limit_stops_bandit(tmp_path: Path) -> None:
    import signal

    from plugyard_analysis.engine import FileTimeLimit, time_limit

    if not hasattr(signal, "setitimer"):
        pytest.skip("no interval timers here")
    src = parse_python("big.py", ("import subprocess\n" + "subprocess.call('x', shell=True)\n" * 20000).encode())
    with pytest.raises(FileTimeLimit), time_limit(0.05):
        bandit_findings(src)
