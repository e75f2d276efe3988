"""What a person wants to know about a USTX project at a glance: name, tracks, notes, size.

OpenUtau resends the whole project on every edit (DESIGN.md §4), so summaries are cached by
content hash: a capture of hundreds of identical resends parses each distinct text once.
The YAML comes from a stranger's capture: it is read with the safe loader and only when it
is smaller than a bound.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import xxhash
import yaml

from utauproxy.inspect.ustx_scan import scan_ustx

MAX_PARSED_BYTES = 64 << 20
# Summaries are ~200 bytes: enough for every distinct project of a long session, so a project
# that comes back (an undo, a session recorded again) is not scanned twice.
_CACHE_SIZE = 4096
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class UstxSummary:
    """`error` is set when the text could not be read as a project."""

    size: int  # UTF-8 bytes of the YAML text
    name: str | None = None
    tracks: int = 0
    parts: int = 0
    notes: int = 0
    error: str | None = None

    @property
    def empty(self) -> bool:
        return self.size == 0

    def as_dict(self) -> dict[str, Any]:
        return {"size": self.size, "name": self.name, "tracks": self.tracks,
                "parts": self.parts, "notes": self.notes, "error": self.error}


def _count(value: Any) -> int:
    return len(value) if isinstance(value, list) else 0


def summarize_ustx_text(text: str) -> UstxSummary:
    """Parse one USTX document (a leading BOM is allowed: the real plugin stores one,
    PROTOCOL.md §3.5 sample) and count what it holds. Never raises."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if not text.strip():
        return UstxSummary(size)
    if size > MAX_PARSED_BYTES:
        return UstxSummary(size, error=f"not parsed (larger than {MAX_PARSED_BYTES >> 20} MiB)")
    body = text.lstrip("\ufeff")
    scanned = scan_ustx(body)  # the common, block-style text: no document built
    if scanned is not None:
        return UstxSummary(size, name=scanned.name, tracks=scanned.tracks, parts=scanned.parts,
                           notes=scanned.notes)
    try:
        document = yaml.load(body, Loader=_Loader)  # noqa: S506 - safe loader
    except yaml.YAMLError as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return UstxSummary(size, error=f"not YAML: {problem}")
    if not isinstance(document, dict):
        return UstxSummary(size, error="not a YAML mapping")
    name = document.get("name")
    parts = document.get("voice_parts")
    voice_parts = parts if isinstance(parts, list) else []
    notes = sum(_count(part.get("notes")) for part in voice_parts if isinstance(part, dict))
    return UstxSummary(
        size,
        name=name if isinstance(name, str) else None,
        tracks=_count(document.get("tracks")),
        parts=len(voice_parts) + _count(document.get("wave_parts")),
        notes=notes,
    )


class UstxSummarizer:
    """`summarize_ustx_text` with a small cache keyed by the text's hash."""

    def __init__(self, size: int = _CACHE_SIZE) -> None:
        self._size = size
        self._cache: OrderedDict[int, UstxSummary] = OrderedDict()

    def summarize(self, text: str) -> UstxSummary:
        key = xxhash.xxh3_64_intdigest(text.encode("utf-8", "surrogatepass"))
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
            return found
        summary = summarize_ustx_text(text)
        self._cache[key] = summary
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return summary
