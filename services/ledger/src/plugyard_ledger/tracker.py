"""The ledger's consumer position lives in the warehouse, committed in the same DuckDB transaction as the rows."""

from __future__ import annotations

from plugyard_core.consumer import Delivered, Rejected
from plugyard_ledger.decoding import decode
from plugyard_ledger.warehouse import IncomingEvent, IncomingRejection, Warehouse


class WarehouseTracker:
    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse

    def last_processed(self) -> int:
        return self.warehouse.last_stream_seq()

    def process(self, batch: list[Delivered]) -> list[Rejected]:
        events: list[IncomingEvent] = []
        rejections: list[IncomingRejection] = []
        rejected: list[Rejected] = []
        for delivered in batch:
            decoded = decode(delivered)
            if isinstance(decoded, IncomingRejection):
                rejections.append(decoded)
                rejected.append(Rejected(delivered=delivered, reason=decoded.reason))
            else:
                events.append(decoded)
        self.warehouse.append(events, rejections, batch[-1].stream_seq)
        return rejected
