"""Plugyard's code analysis: the same judgement for `plugyard scan PATH` and the scanner service."""

from importlib.metadata import PackageNotFoundError, version

try:
    SCANNER_VERSION = version("plugyard-analysis")
except PackageNotFoundError:  # running from a source tree
    SCANNER_VERSION = "0+unknown"
