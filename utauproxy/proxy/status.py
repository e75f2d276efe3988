"""The live status line of `record` (a terminal) or nothing (a pipe: logs carry the events)."""

from __future__ import annotations

import shutil
from typing import TextIO

from utauproxy.proxy.tap import TrafficStats
from utauproxy.records import Direction


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def render_status(stats: TrafficStats, capture_bytes: int, entries: int) -> str:
    top = ", ".join(f"{label.split(':')[-1]} {n}" for label, n in stats.messages.most_common(4))
    wire = stats.wire_bytes[Direction.OU_TO_PLUGIN] + stats.wire_bytes[Direction.PLUGIN_TO_OU]
    parts = [
        f"● rec {entries} plugin{'s' if entries != 1 else ''}",
        f"conn {stats.connections_open} open/{stats.connections_total}",
        f"{stats.total_messages} msgs" + (f" ({top})" if top else ""),
        f"wire {human_bytes(wire)}",
        f"capture {human_bytes(capture_bytes)}",
    ]
    if stats.last_message:
        parts.append(f"last {stats.last_message}")
    return " | ".join(parts)


class StatusLine:
    """Redraws one line in place with a carriage return; clear() before printing anything else.
    The line on screen is also reachable as `StatusLine.shown` so log output can clear it."""

    shown: StatusLine | None = None

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._shown = False

    def show(self, text: str) -> None:
        width = shutil.get_terminal_size((100, 20)).columns - 1
        self._stream.write("\r\x1b[2K" + text[:width])
        self._stream.flush()
        self._shown = True
        StatusLine.shown = self

    def clear(self) -> None:
        if self._shown:
            self._stream.write("\r\x1b[2K")
            self._stream.flush()
            self._shown = False
            StatusLine.shown = None
