"""How the CLI speaks: one-line errors with sysexits codes, `--json` output, rich tables for people."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

EXIT_NO = 1  # a definite "no": verify failed, refused, conflict
EXIT_USAGE = 64
EXIT_UNAVAILABLE = 69
EXIT_INTERNAL = 70

console = Console()
err_console = Console(stderr=True)


class CliError(Exception):
    """An error the user should read: printed as one line, exits with `exit_code`."""

    def __init__(self, message: str, *, code: str = "error", exit_code: int = EXIT_NO) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.exit_code = exit_code


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def report_error(error: CliError, *, as_json: bool) -> None:
    err_console.print(f"error: {error.message}", markup=False, highlight=False, soft_wrap=True)
    if as_json:
        print_json({"error": {"code": error.code, "message": error.message}})
