"""Positioned reads from a capture file, with every I/O failure turned into CaptureError."""

from __future__ import annotations

import os
from typing import BinaryIO

from utauproxy.errors import CaptureError

SEARCH_BLOCK = 1 << 20


class FileSource:
    """Reads at absolute offsets of a seekable binary file (offsets count from the position
    the file had when the source was made, normally 0)."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        try:
            if not file.seekable():
                raise CaptureError("a capture can only be read from a seekable file")
            self._origin = file.tell()
        except (OSError, ValueError) as exc:
            raise CaptureError(f"cannot read the capture: {exc}") from exc

    def read_at(self, offset: int, size: int) -> bytes:
        """Up to `size` bytes from `offset`; fewer only at the end of the file."""
        try:
            self._file.seek(self._origin + offset)
            parts = []
            while size > 0:
                part = self._file.read(size)
                if not part:
                    break
                parts.append(part)
                size -= len(part)
        except (OSError, ValueError) as exc:
            raise CaptureError(f"cannot read the capture: {exc}") from exc
        return b"".join(parts)

    def size(self) -> int:
        """The current length of the file, from the origin."""
        try:
            return self._file.seek(0, os.SEEK_END) - self._origin
        except (OSError, ValueError) as exc:
            raise CaptureError(f"cannot read the capture: {exc}") from exc

    def find(self, pattern: bytes, start: int, end: int) -> int | None:
        """The first offset in [start, end) where `pattern` begins, or None."""
        overlap = len(pattern) - 1
        pos = start
        while pos < end:
            block = self.read_at(pos, min(SEARCH_BLOCK + overlap, end - pos))
            hit = block.find(pattern)
            if hit >= 0:
                return pos + hit
            if len(block) <= overlap:
                return None
            pos += len(block) - overlap
        return None

    def close(self) -> None:
        try:
            self._file.close()
        except OSError as exc:
            raise CaptureError(f"cannot close the capture: {exc}") from exc
