"""Bounds a reader puts on an untrusted capture file (DESIGN.md §4 "Safe to open")."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """Every allocation a file can cause is bounded by one of these.

    The defaults accept every file CaptureWriter can produce (its own hard limits are in
    capture/layout.py) and nothing much larger.
    """

    # Largest single top-level item on disk: the header, a chunk, the footer.
    max_item_bytes: int = 288 << 20
    # Largest decoded content of one chunk: its decompressed data plus the expanded size of
    # every delta in it (a delta is a zstd frame and could otherwise be a bomb).
    max_chunk_bytes: int = 288 << 20
    # Deepest nesting of arrays and maps inside any item.
    max_depth: int = 64
    # Total size of the delta bases a reader keeps (least recently used ones are dropped).
    max_base_cache_bytes: int = 512 << 20
    # Largest zstd window a frame may ask for.
    max_window_bytes: int = 64 << 20


DEFAULT_LIMITS = ReadLimits()
