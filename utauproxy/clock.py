"""One monotonic clock per capture: integer nanoseconds since the capture started (DESIGN.md §4)."""

from __future__ import annotations

import time
from datetime import UTC, datetime


class CaptureClock:
    """Monotonic nanoseconds since construction, plus the wall-clock moment it started."""

    def __init__(self) -> None:
        self._start_ns = time.monotonic_ns()
        self.started_utc = datetime.now(UTC)

    def now(self) -> int:
        return time.monotonic_ns() - self._start_ns

    @property
    def started_iso(self) -> str:
        return self.started_utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
