"""A scan report as SARIF 2.1.0, so that code-scanning tools (GitHub, IDEs, SARIF viewers) can read it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plugyard_analysis.report import ScanReport
from plugyard_analysis.rulebook import REGISTRY, load_rules
from plugyard_schemas.scanner import Finding

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
ROOT_BASE_ID = "PLUGINROOT"
LEVELS = {"quarantine": "error", "warn": "warning", "ignore": "note", None: "warning"}
# GitHub code scanning reads `security-severity` (0.0-10.0) to rank security results.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}


def to_sarif(report: ScanReport, root: str | Path | None = None) -> dict[str, Any]:
    load_rules()
    rule_ids = sorted({f.rule for f in report.findings})
    index = {rule_id: position for position, rule_id in enumerate(rule_ids)}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "plugyard-scan",
                "semanticVersion": report.scanner_version if report.scanner_version[0].isdigit() else None,
                "version": report.scanner_version,
                "informationUri": "https://plugyard.dev/docs/scanner",
                "rules": [_rule(rule_id, report.findings) for rule_id in rule_ids],
                "properties": {"rulesVersion": report.rules_version, "policySha256": report.policy_sha256},
            }
        },
        "invocations": [{"executionSuccessful": True}],
        "results": [_result(f, index[f.rule]) for f in report.findings],
        "properties": {"verdict": report.verdict, "reason": report.reason, "capabilities": report.capabilities},
    }
    if run["tool"]["driver"]["semanticVersion"] is None:
        del run["tool"]["driver"]["semanticVersion"]
    if root is not None:
        run["originalUriBaseIds"] = {ROOT_BASE_ID: {"uri": Path(root).resolve().as_uri() + "/"}}
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def _rule(rule_id: str, findings: list[Finding]) -> dict[str, Any]:
    info = REGISTRY.rules.get(rule_id)
    example = next(f for f in findings if f.rule == rule_id)
    description = info.description if info is not None else example.message
    properties: dict[str, Any] = {
        "tags": ["security", example.category],
        "security-severity": SECURITY_SEVERITY[info.severity if info is not None else example.severity],
    }
    cwe = info.cwe if info is not None else example.cwe
    if cwe is not None:
        properties["tags"].append(f"external/cwe/cwe-{cwe}")
    return {
        "id": rule_id,
        "name": rule_id.replace("-", "_"),
        "shortDescription": {"text": description},
        "fullDescription": {"text": description},
        "defaultConfiguration": {"level": "warning"},
        "properties": properties,
    }


def _result(finding: Finding, rule_index: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.action],
        "message": {"text": finding.message},
        "properties": {
            "severity": finding.severity,
            "confidence": finding.confidence,
            "category": finding.category,
            "action": finding.action,
        },
    }
    if finding.path is not None:
        region: dict[str, Any] = {}
        if finding.line is not None:
            region["startLine"] = finding.line
            if finding.column is not None:
                region["startColumn"] = finding.column + 1
            if finding.snippet:
                region["snippet"] = {"text": finding.snippet}
        location: dict[str, Any] = {"artifactLocation": {"uri": finding.path, "uriBaseId": ROOT_BASE_ID}}
        if region:
            location["region"] = region
        result["locations"] = [{"physicalLocation": location}]
    return result
