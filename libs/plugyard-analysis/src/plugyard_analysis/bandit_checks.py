"""bandit's tests, run as a library on the tree the analysis already parsed.

bandit's own manager reads each file, tokenizes it for `# nosec` comments, counts lines for its metrics and
parses it again before its node visitor runs the tests. None of that is needed here: the source is already
parsed (`SourceFile.tree`), `# nosec` must never hide anything (plugin authors are untrusted; bandit's
`ignore_nosec`), and the metrics are not reported. So this module builds bandit's config and test set once
per process and runs bandit's own node visitor over the existing tree, with two cuts that do not change what
bandit finds:

- the per-node context (a dict, a line range list) is only built for node types a test or a visitor method
  looks at (Call, Import, FunctionDef, string constants, ...); every node still gets bandit's
  `_bandit_parent`/`_bandit_sibling` links, which some tests follow;
- the tester skips bandit's `# nosec` bookkeeping and score arithmetic, and the whole-file trojan-source test
  (B613) only runs when the text holds a bidirectional control character at all.

Findings keep bandit's test id as the rule (B602, ...), its severity and confidence (lower-cased) and CWE.
bandit's logging never reaches the output: the `bandit` logger gets a null handler, does not propagate and
only lets critical records through (it logs every node at debug level, which would cost time too).
"""

from __future__ import annotations

import ast
import io
import logging
import threading
from dataclasses import dataclass
from typing import Any

from bandit.core import config as b_config
from bandit.core import context as b_context
from bandit.core import extension_loader
from bandit.core import node_visitor as b_node_visitor
from bandit.core import test_set as b_test_set
from bandit.core import tester as b_tester

from plugyard_analysis.rulebook import RuleInfo, declare
from plugyard_analysis.sources import SourceFile
from plugyard_schemas.scanner import Finding

_BANDIT_LOG = logging.getLogger("bandit")
_BANDIT_LOG.addHandler(logging.NullHandler())
_BANDIT_LOG.propagate = False
_BANDIT_LOG.setLevel(logging.CRITICAL)  # not even records: bandit logs every node at debug level

_LEVELS = {"LOW": "low", "MEDIUM": "medium", "HIGH": "high"}
_BIDI_CHARACTERS = ("\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200f")
_TROJAN_SOURCE = "B613"
# node types whose visitor method in BanditNodeVisitor reads the context or keeps bandit's own state
_VISITED = frozenset({"ClassDef", "FunctionDef", "Call", "Import", "ImportFrom", "Constant"})


def _declare_bandit_rules() -> dict[str, RuleInfo]:
    """One RuleInfo per bandit test id, so the rules version changes when bandit's tests do. The severity and
    confidence declared are bandit's level for blacklist entries; for plugin tests bandit rates each issue
    itself (e.g. B602 is high with a literal shell command and low otherwise), so they declare medium."""
    manager = extension_loader.MANAGER
    declared: dict[str, RuleInfo] = {}
    for plugin in manager.plugins:
        test_id = getattr(plugin.plugin, "_test_id", None)
        if not test_id or test_id in manager.builtin:
            continue
        info = RuleInfo(test_id, "bandit", "medium", f"bandit {test_id} ({plugin.name})", confidence="medium")
        declared[test_id] = declare(info)
    for entries in manager.blacklist.values():
        for entry in entries:
            test_id = entry["id"]
            if test_id in declared:
                continue
            severity = _LEVELS.get(str(entry.get("level", "MEDIUM")).upper(), "medium")
            info = RuleInfo(test_id, "bandit", severity, f"bandit {test_id} ({entry['name']})", confidence="high")  # type: ignore[arg-type]
            declared[test_id] = declare(info)
    return declared


BANDIT_RULES = _declare_bandit_rules()


@dataclass(frozen=True)
class _Bandit:
    config: Any
    tests: Any  # BanditTestSet
    interesting: frozenset[str]  # node type names worth building a context for


_CACHE: list[_Bandit] = []
_LOCK = threading.Lock()


def _bandit() -> _Bandit:
    """bandit's config and test set, built once per process (all tests, bandit's default options)."""
    if _CACHE:
        return _CACHE[0]
    with _LOCK:
        if not _CACHE:
            config = b_config.BanditConfig()
            tests = b_test_set.BanditTestSet(config)
            interesting = frozenset(tests.tests) | _VISITED
            _CACHE.append(_Bandit(config, tests, interesting))
    return _CACHE[0]


class _Tester(b_tester.BanditTester):
    """bandit's tester without `# nosec` handling (ignored on purpose) and without scores (not reported)."""

    _NO_SCORES = {"SEVERITY": [0, 0, 0, 0], "CONFIDENCE": [0, 0, 0, 0]}

    def __init__(self, testset: Any, skip: frozenset[str]) -> None:
        super().__init__(testset, False, {}, None)
        self.skip = skip

    def run_tests(self, raw_context: dict, checktype: str) -> dict:
        for test in self.testset.get_tests(checktype):
            if getattr(test, "_test_id", None) in self.skip:
                continue
            context = dict(raw_context)
            try:
                result = test(b_context.Context(context), test._config) if hasattr(test, "_config") else test(b_context.Context(context))
            except Exception as exc:  # bandit logs and goes on; so do we (a broken test must not stop the others)
                if type(exc).__name__ == "FileTimeLimit":  # the engine's per-file time limit must still stop us
                    raise
                continue
            if result is None:
                continue
            result.fname = context["filename"]
            result.fdata = context["file_data"]
            if result.lineno is None:
                result.lineno = context["lineno"]
            if result.linerange == []:
                result.linerange = context["linerange"]
            if result.col_offset == -1:
                result.col_offset = context["col_offset"]
            result.end_col_offset = context.get("end_col_offset", 0)
            result.test = test.__name__
            if result.test_id == "":
                result.test_id = test._test_id
            self.results.append(result)
        return self._NO_SCORES


class _Visitor(b_node_visitor.BanditNodeVisitor):
    """bandit's node visitor over an existing tree, building contexts only for nodes a test looks at."""

    def __init__(self, src: SourceFile, bandit: _Bandit, skip: frozenset[str]) -> None:
        # BanditNodeVisitor.__init__ would look up the module's package on disk; the plugin's path says it
        self.debug = False
        self.nosec_lines: dict[int, set[str]] = {}
        self.scores = {"SEVERITY": [0, 0, 0, 0], "CONFIDENCE": [0, 0, 0, 0]}
        self.depth = 0
        self.fname = src.path
        self.fdata = io.BytesIO(src.data)
        self.metaast = None
        self.testset = bandit.tests
        self.imports: set[str] = set()
        self.import_aliases: dict[str, str] = {}
        self.tester = _Tester(bandit.tests, skip)
        self.namespace = _module_name(src.path)
        self.metrics = None
        self.context: dict = {}
        self._interesting = bandit.interesting

    def generic_visit(self, node: Any) -> None:
        """bandit's traversal (parent and sibling links on every node, pre-visit, visit, children, post-visit)
        with the pre- and post-visit of nodes no test looks at reduced to nothing, and no debug logging."""
        interesting = self._interesting
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, list):
                last = len(value) - 1
                for idx, item in enumerate(value):
                    if isinstance(item, ast.AST):
                        item._bandit_sibling = value[idx + 1] if idx < last else None
                        item._bandit_parent = node
                        if item.__class__.__name__ in interesting:
                            self._visit_interesting(item)
                        else:
                            self.generic_visit(item)
            elif isinstance(value, ast.AST):
                value._bandit_sibling = None
                value._bandit_parent = node
                if value.__class__.__name__ in interesting:
                    self._visit_interesting(value)
                else:
                    self.generic_visit(value)

    def _visit_interesting(self, node: Any) -> None:
        if self.pre_visit(node):
            self.visit(node)
            self.generic_visit(node)
            self.post_visit(node)

    def update_scores(self, scores: dict) -> None:
        pass

    def run(self, tree: Any) -> list:
        self.generic_visit(tree)
        self.context = {"file_data": self.fdata, "filename": self.fname, "lineno": 0, "linerange": [0, 1], "col_offset": 0}
        self.tester.run_tests(self.context, "File")
        return self.tester.results


def _module_name(path: str) -> str:
    name = path[:-3] if path.endswith(".py") else path.rsplit(".", 1)[0]
    parts = [p for p in name.split("/") if p]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def bandit_issues(src: SourceFile) -> list:
    """bandit's Issue objects for one parsed source file (every test, `# nosec` ignored)."""
    bandit = _bandit()
    text = src.text or ""
    skip = frozenset() if any(ch in text for ch in _BIDI_CHARACTERS) else frozenset({_TROJAN_SOURCE})
    return _Visitor(src, bandit, skip).run(src.tree)


def _failed(src: SourceFile, exc: Exception) -> Finding:
    """bandit broke on this file: it is not judged clean (the engine's SCAN-RULE-ERROR, fail closed)."""
    return Finding(
        rule="SCAN-RULE-ERROR", category="unanalysable", severity="high",
        message=f"A rule failed on this file, so the file is not fully judged: bandit failed: {type(exc).__name__}: {exc}"[:2000],
        path=src.path,
    )


def _level(value: str, default: str) -> str:
    return _LEVELS.get(str(value).upper(), default)


def bandit_findings(src: SourceFile) -> list[Finding]:
    """bandit's findings for one parsed file. RecursionError and MemoryError reach the engine (SCAN-NESTING),
    so does its per-file time limit; any other failure becomes a SCAN-RULE-ERROR finding."""
    try:
        issues = bandit_issues(src)
    except (RecursionError, MemoryError):
        raise
    except Exception as exc:
        if type(exc).__name__ == "FileTimeLimit":
            raise
        return [_failed(src, exc)]
    findings: list[Finding] = []
    for issue in issues:
        line = issue.lineno if isinstance(issue.lineno, int) and issue.lineno > 0 else None
        column = issue.col_offset if isinstance(issue.col_offset, int) and issue.col_offset >= 0 else None
        cwe = getattr(getattr(issue, "cwe", None), "id", 0) or None
        snippet = src.line(line) if line else ""
        findings.append(
            Finding(
                rule=issue.test_id,
                category="bandit",
                severity=_level(issue.severity, "info"),  # type: ignore[arg-type]
                confidence=_level(issue.confidence, "low"),  # type: ignore[arg-type]
                message=f"{issue.text} (bandit {issue.test_id}: {issue.test})",
                path=src.path,
                line=line,
                column=column,
                cwe=cwe,
                snippet=snippet[:300] or None,
            )
        )
    return findings
