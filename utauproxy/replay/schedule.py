"""When each outgoing message of a replay is due, against one start anchor (DESIGN.md §6).

Offsets are computed from the recorded timestamps in one pass: each recorded gap is capped by
`max_gap` and divided by `speed`, and the message is due at `anchor + offset`. The sender
sleeps *until* that moment, never *for* a gap, so lateness does not accumulate. `speed=None`
is "as fast as causally possible": everything is due at once and only replies are waited for.
Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Pace:
    speed: float | None = 1.0  # None: as fast as causally possible
    max_gap: float | None = None  # seconds of recorded idle time kept at most, before scaling

    def __post_init__(self) -> None:
        if self.speed is not None and not self.speed > 0:
            raise ValueError("speed must be positive")
        if self.max_gap is not None and self.max_gap < 0:
            raise ValueError("max-gap must not be negative")

    def seconds(self, recorded_seconds: float) -> float:
        """A recorded duration (e.g. a timeout) at this pace."""
        return recorded_seconds / self.speed if self.speed else 0.0


def parse_speed(text: str) -> float | None:
    """`--speed` value: a positive factor (2 = twice as fast) or `max`."""
    if text.strip().lower() == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"speed {text!r} is neither a number nor 'max'") from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"speed must be a positive number, not {text!r}")
    return value


def schedule_offsets(timestamps_ns: Sequence[int], pace: Pace) -> list[float]:
    """Seconds after the anchor at which each recorded moment is due (non-decreasing; the
    anchor is recorded time 0)."""
    if pace.speed is None:
        return [0.0] * len(timestamps_ns)
    offsets: list[float] = []
    elapsed = 0.0
    previous = 0
    for ts in timestamps_ns:
        gap = max(0, ts - previous) / 1e9
        if pace.max_gap is not None:
            gap = min(gap, pace.max_gap)
        elapsed += gap
        previous = max(previous, ts)
        offsets.append(elapsed / pace.speed)
    return offsets
