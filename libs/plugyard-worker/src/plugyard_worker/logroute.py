"""Worker side: the root logger (so also "plugyard.plugin.*") as rate-limited log frames.

Imported only once `logging` is (see output.route_output).
"""

from __future__ import annotations

import logging

TYPE_CHECKING = False
if TYPE_CHECKING:
    from plugyard_worker.output import LogLines


class LogFrameHandler(logging.Handler):
    def __init__(self, lines: LogLines) -> None:
        super().__init__()
        self._lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.emit(record.levelname, record.name, self.format(record))
        except Exception:
            self.handleError(record)


def route_logging(lines: LogLines) -> None:
    handler = LogFrameHandler(lines)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
