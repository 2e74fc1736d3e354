"""The tracked consumer: an in-order durable pull consumer whose position lives in the consumer's own database.

The tracker's recorded position is the truth. On start, and after any failure, the durable is recreated to
deliver from `last_processed() + 1`, so a batch that failed, or a delivery lost in a disconnect, is never
passed over. Messages at or below the position are acknowledged without processing (redeliveries after a
crash). Each batch is processed in a worker thread, then acknowledged (rejected ones terminated) with one flush.

No message stops the line: after a batch fails, its messages are taken one at a time, and a message whose
processing has failed `max_deliveries` times is recorded as rejected (with the last error) and passed.
A stream whose last sequence is behind the recorded position was deleted and recreated: that is reported
(`stats.blocked`) and nothing is consumed, rather than skipping the new stream's first messages as already seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Protocol

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

log = logging.getLogger("plugyard.consumer")


@dataclass(frozen=True)
class Delivered:
    stream_seq: int
    subject: str
    data: bytes
    headers: dict[str, str] | None


@dataclass(frozen=True)
class Rejected:
    delivered: Delivered
    reason: str


class Tracker(Protocol):
    def last_processed(self) -> int:
        """The highest stream sequence whose effect is committed; 0 if none."""
        ...

    def reject(self, delivered: Delivered, reason: str) -> None:
        """Record `delivered` as rejected (a MessageRejected naming the reason) and its sequence as processed, in
        one transaction: what a message that keeps failing becomes."""
        ...

    def process(self, batch: list[Delivered]) -> list[Rejected]:
        """Apply every message's effect and record batch[-1].stream_seq, in one transaction.

        Poison messages are recorded as MessageRejected in that same transaction and returned.
        """
        ...


class ConsumerUnavailable(RuntimeError):
    """The durable answered a pull with an error (deleted, no responders)."""


class DeliveryGap(RuntimeError):
    """A delivery never arrived (lost in a disconnect): resume from the recorded position."""


class StreamBehind(RuntimeError):
    """The stream's last sequence is behind the recorded position: it was deleted and recreated."""


@dataclass
class ConsumerStats:
    """What health reports of one consumer."""

    processed: int = 0
    rejected: int = 0
    redeliveries: int = 0
    failures: int = 0
    pending: int = 0  # messages in the stream for this consumer, not yet processed (refreshed by `refresh_pending`)
    last_progress: float = field(default_factory=time.time)  # when a batch was last committed (or the consumer started)
    error: str | None = None  # the last failure, cleared by the next committed batch
    blocked: str | None = None  # why nothing can be consumed at all (the stream went behind the position)


async def _sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


class PullBatches:
    """Pulls batches from a durable consumer into one callback subscription.

    nats-py's `fetch` awaits each message separately (a task and a timer per message) and measured at a
    third of this rate here. A batch is taken with a no-wait pull (everything available, up to the batch
    size); when nothing is available, a waiting pull for one message returns as soon as one arrives.
    Deliveries that arrive after a pull returned stay buffered for the next one.
    """

    def __init__(self, js: JetStreamContext, stream: str, consumer: str) -> None:
        self.nc: Client = js._nc
        prefix = getattr(js, "_prefix", "$JS.API")
        self.next_subject = f"{prefix}.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self.inbox = self.nc.new_inbox()
        self.buffer: list[Msg] = []
        self._sub: Subscription | None = None
        self._wanted = 0
        self._answered = asyncio.Event()
        self._error: str | None = None

    async def start(self) -> None:
        self._sub = await self.nc.subscribe(self.inbox, cb=self._on_message, pending_msgs_limit=0, pending_bytes_limit=0)

    async def close(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()

    async def fetch(self, batch_size: int, timeout: float) -> list[Msg]:
        if len(self.buffer) < batch_size:
            await self._pull({"batch": batch_size - len(self.buffer), "no_wait": True}, batch_size, 2.0)
        if not self.buffer:
            await self._pull({"batch": 1, "expires": int(timeout * 1e9)}, 1, timeout + 1.0)
        taken = self.buffer[:batch_size]
        del self.buffer[:batch_size]
        return taken

    async def _pull(self, request: dict, wanted: int, wait: float) -> None:
        self._wanted = wanted
        self._answered.clear()
        await self.nc.publish(self.next_subject, json.dumps(request).encode(), reply=self.inbox)
        with contextlib.suppress(asyncio.TimeoutError):  # a pull lost in a reconnect is simply repeated
            await asyncio.wait_for(self._answered.wait(), wait)
        if self._error:
            error, self._error = self._error, None
            raise ConsumerUnavailable(error)

    async def _on_message(self, msg: Msg) -> None:
        # Deliveries carry an ack reply subject; status messages (pull over, heartbeat, error) do not.
        status = None if msg.reply else (msg.headers or {}).get("Status")
        if status is None:
            self.buffer.append(msg)
            if len(self.buffer) >= self._wanted:
                self._answered.set()
            return
        if status == "100":  # idle heartbeat
            return
        description = msg.headers.get("Description", "") if msg.headers else ""
        # 404 no messages, 408 pull expired, 409 limits: the pull is over. Anything else means the
        # consumer is gone or unreachable, which recreating it answers.
        if status not in ("404", "408", "409") or "deleted" in description.lower():
            self._error = f"pull failed: status {status} {description}".strip()
        self._answered.set()


class TrackedConsumer:
    """Consume `filter_subject` from `stream` in order, exactly once in effect, through `tracker`.

    `processed` counts messages whose outcome was committed (accepted or rejected); `rejected` counts the
    rejected ones. One instance per durable may run: starting one recreates the durable.
    """

    def __init__(
        self,
        js: JetStreamContext,
        *,
        stream: str,
        durable: str,
        filter_subject: str,
        tracker: Tracker,
        batch_size: int = 1000,
        fetch_timeout: float = 0.5,
        ack_wait: float = 60.0,
        max_backoff: float = 5.0,
        max_deliveries: int = 5,
        start_with_new: bool = False,
    ) -> None:
        self.js = js
        self.start_with_new = start_with_new
        self.stream = stream
        self.durable = durable
        self.filter_subject = filter_subject
        self.tracker = tracker
        self.batch_size = batch_size
        self.fetch_timeout = fetch_timeout
        self.ack_wait = ack_wait
        self.max_backoff = max_backoff
        self.max_deliveries = max_deliveries
        self.stats = ConsumerStats()
        self.position = 0
        self._backoff = 0.2
        self._attempts: dict[int, int] = {}  # stream seq -> failed attempts, for messages taken one at a time
        self._one_at_a_time_until = 0  # after a failed batch, up to this stream seq

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            puller: PullBatches | None = None
            try:
                puller = await self._subscribe_from_position()
                await self._consume(puller, stop)
            except Exception as exc:  # whatever failed, the recorded position is where we resume
                self.stats.failures += 1
                self.stats.error = str(exc) or type(exc).__name__
                self.stats.blocked = self.stats.error if isinstance(exc, StreamBehind) else None
                log.warning(
                    "consumer %s: %s; resuming from stream seq %d in %.1f s",
                    self.durable,
                    str(exc) or type(exc).__name__,
                    self.position + 1,
                    self._backoff,
                )
                await _sleep_unless_stopped(stop, self._backoff)
                self._backoff = min(self._backoff * 2, self.max_backoff)
            finally:
                if puller is not None:
                    await puller.close()

    async def _subscribe_from_position(self) -> PullBatches:
        self.position = await asyncio.to_thread(self.tracker.last_processed)
        last_seq = (await self.js.stream_info(self.stream)).state.last_seq
        if last_seq < self.position:
            raise StreamBehind(
                f"stream {self.stream} ends at sequence {last_seq}, behind this consumer's position {self.position}: it was "
                f"deleted and recreated; nothing is consumed until an operator restores it or resets {self.durable}'s position"
            )
        with contextlib.suppress(NotFoundError):
            await self.js.delete_consumer(self.stream, self.durable)
        fresh_start = self.start_with_new and self.position == 0
        config = ConsumerConfig(
            durable_name=self.durable,
            deliver_policy=DeliverPolicy.NEW if fresh_start else DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=None if fresh_start else self.position + 1,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait,
            filter_subject=self.filter_subject,
            max_ack_pending=max(4 * self.batch_size, 1000),
        )
        await self.js.add_consumer(self.stream, config)
        puller = PullBatches(self.js, self.stream, self.durable)
        await puller.start()
        return puller

    async def _consume(self, puller: PullBatches, stop: asyncio.Event) -> None:
        next_delivery = 1  # consumer sequences of a new durable count deliveries from 1, without holes
        while not stop.is_set():
            msgs = await puller.fetch(self.batch_size, self.fetch_timeout)
            stale: list[Msg] = []
            fresh: list[tuple[Msg, Delivered]] = []
            gap: str | None = None
            for msg in msgs:
                sequence = msg.metadata.sequence
                if msg.metadata.num_delivered > 1:
                    self.stats.redeliveries += 1
                if sequence.consumer != next_delivery:
                    gap = f"delivery {next_delivery} missing (got {sequence.consumer})"
                    break
                next_delivery += 1
                if sequence.stream <= self.position:
                    stale.append(msg)
                else:
                    fresh.append((msg, Delivered(sequence.stream, msg.subject, msg.data, msg.headers)))
            for msg in stale:
                await msg.ack()
            if fresh:
                await self._process(fresh)
            elif stale:
                await self.js._nc.flush()
            if gap:
                raise DeliveryGap(gap)

    async def _process(self, fresh: list[tuple[Msg, Delivered]]) -> None:
        if fresh[0][1].stream_seq <= self._one_at_a_time_until:
            for one in fresh:
                await self._process_one(one)
            return
        batch = [delivered for _, delivered in fresh]
        try:
            rejections = await asyncio.to_thread(self.tracker.process, batch)
        except Exception as exc:
            # Leave the batch unacknowledged; run() logs, backs off and recreates the durable at the position, and
            # the batch's messages are then taken one at a time, so that the one that fails can be told apart.
            self._one_at_a_time_until = batch[-1].stream_seq
            raise RuntimeError(
                f"processing stream seq {batch[0].stream_seq}..{batch[-1].stream_seq} failed: {exc!r}"
            ) from exc
        await self._settle(fresh, {r.delivered.stream_seq: r.reason for r in rejections})

    async def _process_one(self, one: tuple[Msg, Delivered]) -> None:
        delivered = one[1]
        try:
            rejections = await asyncio.to_thread(self.tracker.process, [delivered])
        except Exception as exc:
            attempts = self._attempts[delivered.stream_seq] = self._attempts.get(delivered.stream_seq, 0) + 1
            if attempts < self.max_deliveries:
                raise RuntimeError(f"processing stream seq {delivered.stream_seq} failed (attempt {attempts} of {self.max_deliveries}): {exc!r}") from exc
            reason = f"processing failed {attempts} times, the last: {type(exc).__name__}: {exc}"[:1000]
            await asyncio.to_thread(self.tracker.reject, delivered, reason)
            rejections = [Rejected(delivered, reason)]
        self._attempts.pop(delivered.stream_seq, None)
        await self._settle([one], {r.delivered.stream_seq: r.reason for r in rejections})

    async def _settle(self, fresh: list[tuple[Msg, Delivered]], reasons: dict[int, str]) -> None:
        """The batch's outcome is committed: acknowledge it (terminate the rejected) and count."""
        self.position = fresh[-1][1].stream_seq
        for msg, delivered in fresh:
            if delivered.stream_seq in reasons:
                await msg.term()
                log.info("consumer %s: rejected stream seq %d: %s", self.durable, delivered.stream_seq, reasons[delivered.stream_seq])
            else:
                await msg.ack()
        self.stats.processed += len(fresh)
        self.stats.rejected += len(reasons)
        self.stats.last_progress = time.time()
        self.stats.error = self.stats.blocked = None
        self._backoff = 0.2
        await self.js._nc.flush()

    async def refresh_pending(self) -> None:
        """How many messages of the stream this consumer has yet to process (for health)."""
        try:
            consumer = await self.js.consumer_info(self.stream, self.durable)
        except NotFoundError:  # between two incarnations of the durable: keep the last figure
            return
        self.stats.pending = consumer.num_pending + consumer.num_ack_pending
