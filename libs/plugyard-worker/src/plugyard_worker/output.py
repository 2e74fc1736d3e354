"""Worker side: everything the worker tells the host goes through one EventWriter on the event pipe; the
plugin's log records and prints become rate-limited log frames.

The real fds 1 and 2 are /dev/null (the host spawns the worker so): a plugin writing to them directly is
harmless, and nothing the plugin prints can block on a pipe nobody reads.

`logging` is routed only once something imports it (logroute.py): most plugins never log, and importing it
would cost every worker's cold start several milliseconds.
"""

from __future__ import annotations

import os
import sys
import _thread
import time

from plugyard_worker.frames import FrameError, encode, write_all

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

LINES_PER_SECOND = 200
MAX_LINE = 4096


class EventWriter:
    """Frames to the host, one writer at a time (calls finish on many threads)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        # Nothing done under this lock raises an audit event the reporter watches, so a report never nests in a frame.
        self._lock = _thread.allocate_lock()

    def send(self, message: dict[str, Any]) -> None:
        self.send_frame(encode(message))

    def send_frame(self, frame: bytes) -> None:
        with self._lock:
            try:
                write_all(self._fd, frame)
            except OSError:
                os._exit(1)  # the host is gone: nobody is left to serve


class LogLines:
    """Log frames under a rate limit: at most LINES_PER_SECOND, each cut to MAX_LINE, drops reported."""

    def __init__(self, writer: EventWriter, per_second: int = LINES_PER_SECOND) -> None:
        self._writer = writer
        self._per_second = per_second
        self._lock = _thread.allocate_lock()
        self._window = time.monotonic()
        self._count = 0
        self._dropped = 0

    def emit(self, level: str, logger: str, message: str) -> None:
        with self._lock:
            now = time.monotonic()
            dropped = 0
            if now - self._window >= 1.0:
                self._window, self._count, dropped, self._dropped = now, 0, self._dropped, 0
            admitted = self._count < self._per_second
            if admitted:
                self._count += 1
            else:
                self._dropped += 1
        if dropped:
            self._send("WARNING", "plugyard.worker", f"{dropped} lines dropped (over {self._per_second} lines/s)")
        if admitted:
            self._send(level, logger, message)

    def flush(self) -> None:
        """Report lines dropped in the current window (before the worker exits)."""
        with self._lock:
            dropped, self._dropped = self._dropped, 0
        if dropped:
            self._send("WARNING", "plugyard.worker", f"{dropped} lines dropped (over {self._per_second} lines/s)")

    def _send(self, level: str, logger: str, message: str) -> None:
        if len(message) > MAX_LINE:
            message = message[:MAX_LINE] + f"... [{len(message) - MAX_LINE} characters cut]"
        try:
            self._writer.send({"op": "log", "level": level, "logger": logger, "message": message})
        except FrameError:
            pass


class LineStream:
    """A text stream for sys.stdout/sys.stderr that turns each written line into a log frame."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, lines: LogLines, level: str, name: str) -> None:
        self._lines = lines
        self._level = level
        self.name = name
        self._buffer = ""
        self._lock = _thread.allocate_lock()

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self._lock:
            self._buffer += text
            if "\n" not in self._buffer and len(self._buffer) <= MAX_LINE:
                return len(text)
            *complete, self._buffer = self._buffer.split("\n")
            if len(self._buffer) > MAX_LINE:
                complete.append(self._buffer)
                self._buffer = ""
        for line in complete:
            self._lines.emit(self._level, self.name, line)
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        with self._lock:
            rest, self._buffer = self._buffer, ""
        if rest:
            self._lines.emit(self._level, self.name, rest)

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    @property
    def closed(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError("the worker's output streams have no file descriptor")


def route_output(writer: EventWriter) -> LogLines:
    """Send sys.stdout/sys.stderr and the root logger (so also "plugyard.plugin.*") to the host as log frames."""
    lines = LogLines(writer)
    sys.stdout = LineStream(lines, "INFO", "stdout")
    sys.stderr = LineStream(lines, "WARNING", "stderr")
    if "logging" in sys.modules:
        from plugyard_worker.logroute import route_logging

        route_logging(lines)
    else:
        sys.meta_path.insert(0, RouteLoggingOnImport(lines))
    return lines


class RouteLoggingOnImport:
    """A sys.meta_path entry that finds nothing itself: it hands `logging`, as the other finders find it, a loader
    that routes the root logger to log frames as soon as the module has run (before anything can log)."""

    def __init__(self, lines: LogLines) -> None:
        self._lines = lines

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "logging":
            return None
        sys.meta_path.remove(self)
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find is not None else None
            if spec is not None and spec.loader is not None:
                spec.loader = _LoadThenRoute(spec.loader, self._lines)
                return spec
        return None


class _LoadThenRoute:
    def __init__(self, loader: Any, lines: LogLines) -> None:
        self._loader = loader
        self._lines = lines

    def __getattr__(self, name: str) -> Any:  # get_source, get_filename, ...: the real loader's
        return getattr(self._loader, name)

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        from plugyard_worker.logroute import route_logging

        route_logging(self._lines)
