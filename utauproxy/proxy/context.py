"""What every proxied connection of one recorder shares: where what it sees goes, and the
connection ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count

from utauproxy.proxy.capture_input import CaptureInput
from utauproxy.records import ConnEvent, Direction

RECEIVE_SIZE = 256 * 1024


@dataclass
class ProxyContext:
    """What every proxied connection of one recorder shares."""

    capture: CaptureInput
    _conn_ids: count[int] = field(default_factory=lambda: count(1))

    def next_conn_id(self) -> int:
        return next(self._conn_ids)

    def record_conn(self, conn: int, event: ConnEvent, direction: Direction | None = None, /,
                    **detail: object) -> None:
        self.capture.connection(conn, event, direction, dict(detail))
