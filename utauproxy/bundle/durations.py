"""Parsing the amounts a user types for `bundle`: durations (`--last 5m`), capture times
(`--from 12:30`) and sizes (`--max-size 8MB`). Pure; errors are ValueError with a message
that says what is accepted."""

from __future__ import annotations

import math
import re

_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_UNITS = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_CLOCK = re.compile(r"(?:(\d+):)?(\d+):(\d{1,2}(?:\.\d+)?)")
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9,
               "gb": 10**9, "ki": 1 << 10, "kib": 1 << 10, "mi": 1 << 20, "mib": 1 << 20,
               "gi": 1 << 30, "gib": 1 << 30}

DURATION_FORMS = "90s, 5m, 1h30m, 500ms, 12:30 (min:s), 1:02:03 (h:min:s) or plain seconds"
SIZE_FORMS = "10MB, 8M, 500kB, 9.5MiB or plain bytes (MB = 1,000,000 bytes, MiB = 1,048,576)"


def parse_duration(text: str) -> float:
    """Seconds from `90s`, `5m`, `1h30m`, `500ms`, `12:30`, `1:02:03`, or plain seconds."""
    value = text.strip().lower()
    seconds = _plain(value)
    if seconds is None:
        seconds = _clock(value)
    if seconds is None:
        seconds = _with_units(value)
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"not a duration: {text!r} (use {DURATION_FORMS})")
    return seconds


def parse_size(text: str) -> int:
    """Bytes from `10MB`, `8M`, `500kB`, `9.5MiB` or plain bytes."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a size: {text!r} (use {SIZE_FORMS})")
    unit = (match.group(2) or "").lower()
    size = int(float(match.group(1)) * _SIZE_UNITS[unit])
    if size <= 0:
        raise ValueError(f"a size must be more than 0 bytes: {text!r}")
    return size


def format_size(size: int) -> str:
    """Bytes in the decimal units --max-size takes: `9.43 MB`, `512.0 kB`, `812 B`."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:.2f} MB"
    if size >= 1000:
        return f"{size / 1000:.1f} kB"
    return f"{size} B"


def format_seconds(seconds: float) -> str:
    """`0:00:05.250`-style h:mm:ss.mmm, for capture-relative times in text."""
    total_ms = round(seconds * 1000)
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def _plain(value: str) -> float | None:
    try:
        return float(value) if re.fullmatch(r"\d+(?:\.\d+)?", value) else None
    except ValueError:
        return None


def _clock(value: str) -> float | None:
    match = _CLOCK.fullmatch(value)
    if match is None:
        return None
    hours = int(match.group(1) or 0)
    minutes, seconds = int(match.group(2)), float(match.group(3))
    if seconds >= 60 or (match.group(1) is not None and minutes >= 60):
        return None
    return hours * 3600 + minutes * 60 + seconds


def _with_units(value: str) -> float | None:
    position, total, seen = 0, 0.0, []
    for match in _UNITS.finditer(value):
        if match.start() != position:
            return None
        unit = match.group(2)
        if unit in seen:
            return None
        seen.append(unit)
        total += float(match.group(1)) * _UNIT_SECONDS[unit]
        position = match.end()
    return total if seen and position == len(value) else None
