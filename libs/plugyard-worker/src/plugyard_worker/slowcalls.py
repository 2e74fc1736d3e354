"""Worker side: where a call that runs past its budget spends its time, found by sampling its own stack.

One long-lived thread, started by the first call, sleeps until the earliest running call can cross the budget
(one budget when none runs): a call that ends in time costs two dict operations and wakes nothing. Once a call is
over budget, the thread takes its stack from sys._current_frames() every SAMPLE_INTERVAL_S until it ends, and the
call's report names the stack it was found in most often. Built on _thread and time, as pool.py is (cold start).
"""

from __future__ import annotations

import _thread
import sys
from time import monotonic, sleep

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import CodeType, FrameType
    from typing import Any

DEFAULT_BUDGET_MS = 1000.0
SAMPLE_INTERVAL_S = 0.01
MAX_DEPTH = 64  # innermost frames kept of a sampled stack
MAX_SAMPLES = 1000  # of one call (10 s of it): a call that never ends is not sampled for ever


class Call:
    __slots__ = ("thread", "started", "counts", "stacks", "samples")

    def __init__(self, thread: int, started: float) -> None:
        self.thread = thread
        self.started = started
        self.counts: dict[tuple[CodeType, ...], int] = {}  # by the functions on the stack, whatever line each is at
        self.stacks: dict[tuple[CodeType, ...], list[str]] = {}  # the latest sample of each, with its lines
        self.samples = 0


class SlowCallSampler:
    def __init__(self, budget_ms: float, outermost: CodeType) -> None:
        """`outermost`: the code of the worker's function that runs each call; the stacks end below it."""
        self.budget_ms = budget_ms
        self._budget_s = budget_ms / 1000
        self._outermost = outermost
        self._running: dict[int, Call] = {}  # by the thread running the call
        self._lock = _thread.allocate_lock()
        self._started = False

    def begin(self) -> Call | None:
        """Register the calling thread's call (None when there is no budget)."""
        if self._budget_s <= 0:
            return None
        if not self._started:
            with self._lock:
                if not self._started:
                    self._started = True
                    try:
                        _thread.start_new_thread(self._run, ())
                    except RuntimeError:  # no thread to spare (the sandbox's limits): calls run unsampled
                        self._budget_s = 0
                        return None
        call = Call(_thread.get_ident(), monotonic())
        self._running[call.thread] = call
        return call

    def end(self, call: Call | None) -> dict[str, Any] | None:
        """The report of a call that ran past the budget: elapsed_ms, budget_ms, stack (innermost last), samples."""
        if call is None:
            return None
        del self._running[call.thread]
        elapsed = monotonic() - call.started
        if elapsed < self._budget_s:
            return None  # the sampler only takes calls already past the budget: it never touched this one
        with self._lock:
            top = max(call.counts, key=call.counts.__getitem__, default=None)
            stack = call.stacks[top] if top is not None else []
            return {"elapsed_ms": round(elapsed * 1000, 3), "budget_ms": self.budget_ms, "stack": stack, "samples": call.samples}

    def _run(self) -> None:
        while True:
            now = monotonic()
            wake = now + self._budget_s
            over = []
            for call in self._running.copy().values():
                crosses = call.started + self._budget_s
                if call.samples >= MAX_SAMPLES:
                    continue
                if crosses <= now:
                    over.append(call)
                elif crosses < wake:
                    wake = crosses
            if not over:
                sleep(wake - now)
                continue
            frames = sys._current_frames()
            with self._lock:
                for call in over:
                    frame = frames.get(call.thread)
                    if frame is not None:
                        self._sample(call, frame)
            frames = frame = None  # frames hold their locals alive
            sleep(SAMPLE_INTERVAL_S)

    def _sample(self, call: Call, frame: FrameType | None) -> None:
        codes: list[CodeType] = []
        lines: list[str] = []
        while frame is not None and frame.f_code is not self._outermost and len(codes) < MAX_DEPTH:
            code = frame.f_code
            codes.append(code)
            lines.append(f"{code.co_filename}:{frame.f_lineno} {code.co_qualname}")
            frame = frame.f_back
        key = tuple(codes)
        call.counts[key] = call.counts.get(key, 0) + 1
        lines.reverse()
        call.stacks[key] = lines
        call.samples += 1
