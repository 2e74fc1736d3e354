"""Worker side: a small thread pool for concurrent calls (concurrent.futures would add to every cold start)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

MAX_THREADS = 16


class CallPool:
    def __init__(self, run: Callable[[Any], None], max_threads: int = MAX_THREADS) -> None:
        self._run = run
        self._max = max_threads
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._idle = threading.Condition(self._lock)
        self._queue: deque[Any] = deque()
        self._threads = 0
        self._waiting = 0  # threads blocked waiting for work
        self._running = 0

    def submit(self, item: Any) -> None:
        with self._lock:
            self._queue.append(item)
            if self._waiting < len(self._queue) and self._threads < self._max:
                self._threads += 1
                threading.Thread(target=self._loop, name=f"plugyard-call-{self._threads}", daemon=True).start()
            else:
                self._work.notify()

    def drain(self) -> None:
        """Wait until every submitted item has run."""
        with self._lock:
            while self._queue or self._running:
                self._idle.wait()

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._queue:
                    self._waiting += 1
                    self._work.wait()
                    self._waiting -= 1
                item = self._queue.popleft()
                self._running += 1
            try:
                self._run(item)
            finally:
                with self._lock:
                    self._running -= 1
                    if not self._running and not self._queue:
                        self._idle.notify_all()
