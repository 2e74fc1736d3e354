"""How rules are declared. A rule is a function that yields `Hit`s, registered with its `RuleInfo`:

- `@python_rule(info)`: `check(src: SourceFile)` for every parsed Python file;
- `@file_rule(info)`: `check(file: PluginFile)` for every file, Python ones included (as raw text or bytes);
- `@plugin_rule(info)`: `check(plugin: PluginContext)` once per plugin, across files and the manifest.

The registry turns hits into `Finding`s carrying the rule's id, category, severity, confidence and CWE, so a
rule module only says where and what. Rule modules live in `plugyard_analysis.rules` and are imported by
`load_rules()`.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from plugyard_schemas.scanner import Category, Confidence, Finding, Severity

if TYPE_CHECKING:
    from plugyard_analysis.context import PluginContext
    from plugyard_analysis.sources import PluginFile, SourceFile

RULES_SERIES = "1"  # bump when rules change meaning without changing ids or severities


@dataclass(frozen=True)
class RuleInfo:
    id: str
    category: Category
    severity: Severity
    description: str  # what the rule looks for, one sentence
    confidence: Confidence = "high"
    cwe: int | None = None


@dataclass(frozen=True)
class Hit:
    """Where a rule fired and what it saw there. `node` gives the line; plugin rules give `path`/`line`."""

    detail: str
    node: ast.AST | None = None
    line: int | None = None
    path: str | None = None
    severity: Severity | None = None  # a rule may raise or lower its default for one hit


@dataclass
class Registry:
    rules: dict[str, RuleInfo] = field(default_factory=dict)
    python: list[tuple[RuleInfo, Callable[[Any], Iterable[Hit]]]] = field(default_factory=list)
    files: list[tuple[RuleInfo, Callable[[Any], Iterable[Hit]]]] = field(default_factory=list)
    plugin: list[tuple[RuleInfo, Callable[[Any], Iterable[Hit]]]] = field(default_factory=list)

    def declare(self, info: RuleInfo) -> RuleInfo:
        existing = self.rules.get(info.id)
        if existing is not None and existing != info:
            raise ValueError(f"rule id {info.id} is declared twice with different details")
        self.rules[info.id] = info
        return info


REGISTRY = Registry()


def declare(info: RuleInfo) -> RuleInfo:
    """Declare a rule whose findings are produced outside the registry (bandit, SCAN-* limits)."""
    return REGISTRY.declare(info)


def _register(kind: str, info: RuleInfo) -> Callable[[Callable[[Any], Iterable[Hit]]], Callable[[Any], Iterable[Hit]]]:
    def decorate(check: Callable[[Any], Iterable[Hit]]) -> Callable[[Any], Iterable[Hit]]:
        REGISTRY.declare(info)
        getattr(REGISTRY, kind).append((info, check))
        return check

    return decorate


def python_rule(info: RuleInfo) -> Callable[[Callable[[SourceFile], Iterable[Hit]]], Callable[[SourceFile], Iterable[Hit]]]:
    return _register("python", info)


def file_rule(info: RuleInfo) -> Callable[[Callable[[PluginFile], Iterable[Hit]]], Callable[[PluginFile], Iterable[Hit]]]:
    return _register("files", info)


def plugin_rule(info: RuleInfo) -> Callable[[Callable[[PluginContext], Iterable[Hit]]], Callable[[PluginContext], Iterable[Hit]]]:
    return _register("plugin", info)


def load_rules() -> Registry:
    import plugyard_analysis.rules as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")
    return REGISTRY


def rules_version() -> str:
    """Changes whenever a rule is added, removed or changes severity; the series marks changes of meaning."""
    load_rules()
    text = "\n".join(f"{r.id}:{r.severity}:{r.confidence}" for r in sorted(REGISTRY.rules.values(), key=lambda r: r.id))
    return f"{RULES_SERIES}.{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def finding(info: RuleInfo, hit: Hit, path: str | None, source_line: Callable[[int | None], str] | None = None) -> Finding:
    line = hit.line if hit.line is not None else getattr(hit.node, "lineno", None)
    column = getattr(hit.node, "col_offset", None) if hit.node is not None else None
    where = hit.path if hit.path is not None else path
    snippet = source_line(line) if source_line is not None and line else None
    return Finding(
        rule=info.id,
        category=info.category,
        severity=hit.severity or info.severity,
        confidence=info.confidence,
        message=f"{info.description}: {hit.detail}" if hit.detail else info.description,
        path=where,
        line=line if line and line > 0 else None,
        column=column,
        cwe=info.cwe,
        snippet=(snippet or None) and snippet[:300],
    )
