"""Worker side: a small thread pool for concurrent calls.

Built on _thread, as threading itself is: importing threading (functools, collections behind it), let alone
concurrent.futures, would add to every cold start. An idle thread parks on a lock of its own, which submit()
releases to hand it work.
"""

from __future__ import annotations

import _thread
from _collections import deque

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

MAX_THREADS = 16


class CallPool:
    def __init__(self, run: Callable[[Any], None], max_threads: int = MAX_THREADS) -> None:
        self._run = run
        self._max = max_threads
        self._lock = _thread.allocate_lock()
        self._queue: deque[Any] = deque()
        self._parked: list[Any] = []  # the held wake-up locks of idle threads
        self._drained: list[Any] = []  # the held locks of drain() callers
        self._threads = 0
        self._running = 0

    def submit(self, item: Any) -> None:
        with self._lock:
            self._queue.append(item)
            if self._parked:
                self._parked.pop().release()
                return
            if self._threads == self._max:
                return  # every thread is busy: the first to finish takes it
            self._threads += 1
        started = _thread.allocate_lock()
        started.acquire()
        _thread.start_new_thread(self._loop, (started,))
        # One thread starting at a time, as threading.Thread.start does. Started all at once, they made calls fail
        # with MemoryError: each thread's stack and malloc arena count against the RLIMIT_AS, and 16 come close.
        started.acquire()

    def drain(self) -> None:
        """Wait until every submitted item has run."""
        with self._lock:
            if not self._queue and not self._running:
                return
            done = _thread.allocate_lock()
            done.acquire()
            self._drained.append(done)
        done.acquire()

    def _loop(self, started: Any) -> None:
        started.release()
        wake = _thread.allocate_lock()
        wake.acquire()
        while True:
            with self._lock:
                if not self._queue:
                    self._parked.append(wake)
                    item = None
                else:
                    item = (self._queue.popleft(),)
                    self._running += 1
            if item is None:
                wake.acquire()  # until submit() releases it
                continue
            try:
                self._run(item[0])
            finally:
                with self._lock:
                    self._running -= 1
                    if not self._running and not self._queue:
                        for done in self._drained:
                            done.release()
                        self._drained.clear()
