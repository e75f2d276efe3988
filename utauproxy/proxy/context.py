"""What every proxied connection of one recorder shares: the clock, where records go, the
traffic counters, and the lock that keeps records from the relay's threads in order."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count

from utauproxy.clock import CaptureClock
from utauproxy.protocol.events import Dialect
from utauproxy.proxy.tap import TrafficStats
from utauproxy.records import ConnectionRecord, ConnEvent, Direction, Record

RECEIVE_SIZE = 256 * 1024


@dataclass
class ProxyContext:
    """What every proxied connection of one recorder shares."""

    clock: CaptureClock
    emit: Callable[[Record], None]
    stats: TrafficStats = field(default_factory=TrafficStats)
    dialect: Dialect = Dialect.AUTO
    # Held while a record is timestamped and emitted, so records from the relay's threads
    # reach the sink in timestamp order.
    record_lock: threading.Lock = field(default_factory=threading.Lock)
    _conn_ids: count[int] = field(default_factory=lambda: count(1))

    def next_conn_id(self) -> int:
        return next(self._conn_ids)

    def record_conn(self, conn: int, event: ConnEvent, direction: Direction | None = None, /,
                    **detail: object) -> None:
        with self.record_lock:
            self.emit(ConnectionRecord(self.clock.now(), conn, event, direction, dict(detail)))
