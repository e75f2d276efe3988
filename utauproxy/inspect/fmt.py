"""Small text helpers shared by the inspect renderers: sizes, durations, ids, colour roles.

Colour is a role name ("ok", "bad", ...) handed to a `Paint` function; the CLI maps roles to
terminal styles, tests and pipes use `plain`, so nothing here knows about terminals.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

Paint: TypeAlias = Callable[[str, str], str]
"""paint(text, role) -> text, possibly with terminal styling. Roles: ok, bad, warn, dim,
kind, send (OpenUtau to plugin), recv (plugin to OpenUtau), meta."""

SHORT_ID = 8


def plain(text: str, role: str) -> str:
    """The Paint that paints nothing."""
    return text


def human_bytes(count: int) -> str:
    """`53 B`, `11.0 KiB`, `171.2 KiB`, `29.5 MiB`."""
    if count < 1024:
        return f"{count} B"
    value = float(count)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:.1f} {unit}"


def human_duration_ns(ns: int) -> str:
    """A latency or gap: `250 µs`, `1.6 ms`, `2.31 s`, `1 h 02 min`."""
    if ns < 0:
        return "-" + human_duration_ns(-ns)
    if ns < 1_000_000:
        return f"{ns // 1000} µs"
    if ns < 1_000_000_000:
        return f"{ns / 1e6:.1f} ms"
    seconds = ns / 1e9
    if seconds < 600:
        return f"{seconds:.2f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min {int(seconds % 60):02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def seconds(ns: int) -> str:
    """A capture-relative timestamp: seconds with millisecond precision."""
    return f"{ns / 1e9:.3f}"


def short_id(request_id: str | None) -> str:
    """The first characters of a request id (GUIDs are 36 characters)."""
    return "" if request_id is None else request_id[:SHORT_ID]


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def signed_number(value: float) -> str:
    """`0`, `+30`, `-6.5`: pan and volume as a person reads them."""
    text = f"{value:g}"
    return "+" + text if value > 0 else text
