from __future__ import annotations

from tests.scanner_corpus import corpus


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    """Show the corpus rates in every run that computed them, not only on failure."""
    if corpus.results.cache_info().currsize:
        terminalreporter.section("scanner corpus: detection and false positives per rule")
        for line in corpus.report_lines():
            terminalreporter.write_line(line)
