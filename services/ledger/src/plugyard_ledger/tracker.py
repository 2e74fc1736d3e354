"""The ledger's consumer position lives in the warehouse, committed in the same DuckDB transaction as the rows."""

from __future__ import annotations

from plugyard_core.consumer import Delivered, Rejected
from plugyard_ledger.decoding import decode
from plugyard_ledger.warehouse import IncomingEvent, IncomingRejection, InvalidEvent, Warehouse


class WarehouseTracker:
    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse

    def last_processed(self) -> int:
        return self.warehouse.last_stream_seq()

    def reject(self, delivered: Delivered, reason: str) -> None:
        self.warehouse.append([], [IncomingRejection(delivered.stream_seq, delivered.subject, reason, delivered.data)], delivered.stream_seq)

    def process(self, batch: list[Delivered]) -> list[Rejected]:
        events: list[IncomingEvent] = []
        rejections: list[IncomingRejection] = []
        for delivered in batch:
            decoded = decode(delivered)
            (rejections if isinstance(decoded, IncomingRejection) else events).append(decoded)
        raw = {d.stream_seq: d for d in batch}
        while True:
            try:
                self.warehouse.append(events, rejections, batch[-1].stream_seq)
                break
            except InvalidEvent as exc:
                # The warehouse's stricter checks refused one event: it becomes a rejection, the batch goes on.
                culprit = next((e for e in events if e.stream_seq == exc.stream_seq), None)
                if culprit is None:
                    raise
                events.remove(culprit)
                delivered = raw[culprit.stream_seq]
                rejections.append(IncomingRejection(culprit.stream_seq, delivered.subject, f"not storable: {exc.problem}", delivered.data))
        return [Rejected(delivered=raw[r.stream_seq], reason=r.reason) for r in rejections]
