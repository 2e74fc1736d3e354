"""A background loop of a service: some blocking work run in a thread every few seconds; a failure is logged and
retried, and the service's health names the loop once it has not succeeded for a while."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from nats.aio.client import Client

log = logging.getLogger("plugyard.every")


class Every:
    """A background loop running `work` in a thread every `seconds`; a failure is logged and retried, and health
    names the loop once it has not succeeded for `stall_after` seconds."""

    def __init__(self, seconds: float, work: Callable[[], object], what: str, stall_after: float) -> None:
        self.seconds, self.work, self.what = seconds, work, what
        self.stall_after = max(stall_after, 3 * seconds)
        self.last_ok = time.monotonic()
        self.error: str | None = None
        self._wake: asyncio.Event | None = None

    def wake(self) -> None:
        """Run the next round now rather than at the end of the wait (from the loop's own event loop)."""
        if self._wake is not None:
            self._wake.set()

    async def __call__(self, _nc: Client, stop: asyncio.Event) -> None:
        self._wake = asyncio.Event()
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.work)
                self.last_ok, self.error = time.monotonic(), None
            except Exception as exc:  # the next round tries again; a failed round leaves nothing half-done
                self.error = str(exc) or type(exc).__name__
                log.warning("%s failed: %s", self.what, exc)
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            await asyncio.wait(waits, timeout=self.seconds, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()
            self._wake.clear()

    def problem(self) -> str | None:
        stalled = time.monotonic() - self.last_ok
        if stalled < self.stall_after:
            return None
        return f"{self.what} has not succeeded for {stalled:.0f} s" + (f": {self.error}" if self.error else "")
