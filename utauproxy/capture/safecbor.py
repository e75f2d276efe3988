"""CBOR for untrusted bytes: a structural check before cbor2 sees anything.

cbor2 decodes semantic tags into objects (dates, regexes, shared references, bignums) and
trusts declared lengths. So every item is first walked by `scan_item`, an iterative checker
that enforces the subset the format allows (docs/capture-format.md "CBOR subset"): definite
lengths only, no tags, map keys are text, only false/true/null and floats as simple values,
bounded size and depth. Only then does cbor2 decode it, with its own depth guard as well.
"""

from __future__ import annotations

from typing import Any

import cbor2

from utauproxy.errors import CaptureCorrupt, CaptureLimitExceeded

_MAJOR_UINT, _MAJOR_NINT, _MAJOR_BYTES, _MAJOR_TEXT = 0, 1, 2, 3
_MAJOR_ARRAY, _MAJOR_MAP, _MAJOR_TAG, _MAJOR_SIMPLE = 4, 5, 6, 7
# false, true, null, then half, single and double floats.
_ALLOWED_SIMPLE = frozenset({20, 21, 22, 25, 26, 27})


class Truncated(CaptureCorrupt):
    """The item continues past the bytes available; `needed` is the smallest end that could
    complete it (an absolute index into the scanned buffer)."""

    def __init__(self, needed: int) -> None:
        super().__init__(f"item continues past the available bytes (needs {needed})")
        self.needed = needed


def read_head(buf: bytes | memoryview, pos: int) -> tuple[int, int, int, int]:
    """Decode the head of the item at `pos`: (major type, additional information, argument,
    position after the head). Raises Truncated, or CaptureCorrupt for reserved and
    indefinite-length encodings."""
    if pos >= len(buf):
        raise Truncated(pos + 1)
    initial = buf[pos]
    major, info = initial >> 5, initial & 31
    if info < 24:
        return major, info, info, pos + 1
    if info > 27:
        raise CaptureCorrupt(f"unsupported CBOR encoding 0x{initial:02x} at {pos}")
    end = pos + 1 + (1 << (info - 24))
    if end > len(buf):
        raise Truncated(end)
    return major, info, int.from_bytes(buf[pos + 1 : end], "big"), end


def scan_item(buf: bytes | memoryview, start: int, *, max_bytes: int, max_depth: int) -> int:
    """Check the item at `start` and return where it ends. Work is linear in its size.

    Raises Truncated when `buf` ends first, CaptureLimitExceeded when it is larger or deeper
    than allowed, CaptureCorrupt when it leaves the format's CBOR subset.
    """
    limit = start + max_bytes
    remaining: list[int] = []  # items still expected by each open container
    in_map: list[bool] = []
    pos = start
    while True:
        major, info, arg, pos = read_head(buf, pos)
        if in_map and in_map[-1] and remaining[-1] % 2 == 0 and major != _MAJOR_TEXT:
            raise CaptureCorrupt(f"map key that is not text at {pos}")
        if major in (_MAJOR_BYTES, _MAJOR_TEXT):
            pos = _skip_string(buf, pos, arg, limit)
        elif major in (_MAJOR_ARRAY, _MAJOR_MAP):
            count = arg * 2 if major == _MAJOR_MAP else arg
            if pos + count > limit:  # every element takes at least one byte
                raise CaptureLimitExceeded(f"container of {arg} elements exceeds the size limit")
            if count:
                if len(remaining) >= max_depth:
                    raise CaptureLimitExceeded(f"nesting deeper than {max_depth}")
                remaining.append(count)
                in_map.append(major == _MAJOR_MAP)
                continue
        elif major == _MAJOR_TAG:
            raise CaptureCorrupt(f"tag {arg} is not allowed inside an item (at {pos})")
        elif major == _MAJOR_SIMPLE and info not in _ALLOWED_SIMPLE:
            raise CaptureCorrupt(f"simple value {arg} is not allowed (at {pos})")
        if pos > limit:
            raise CaptureLimitExceeded(f"item larger than {max_bytes} bytes")
        while remaining:
            remaining[-1] -= 1
            if remaining[-1]:
                break
            remaining.pop()
            in_map.pop()
        else:
            return pos


def _skip_string(buf: bytes | memoryview, pos: int, length: int, limit: int) -> int:
    end = pos + length
    if end > limit:
        raise CaptureLimitExceeded(f"string of {length} bytes exceeds the size limit")
    if end > len(buf):
        raise Truncated(end)
    return end


def decode_checked(buf: bytes | memoryview, start: int, end: int, *, max_depth: int) -> Any:
    """Decode an item that scan_item accepted. Any decoder failure is CaptureCorrupt."""
    try:
        return cbor2.loads(
            bytes(buf[start:end]),
            max_depth=max_depth + 1,
            allow_indefinite=False,
            strict_hashable_types=True,
        )
    # The trust boundary: cbor2 is a C extension fed with stranger's bytes, and whatever it
    # raises (invalid UTF-8, overflow, ...) means the same thing to us.
    except Exception as exc:  # noqa: BLE001
        raise CaptureCorrupt(f"undecodable item: {exc}") from None


def load_item(buf: bytes | memoryview, start: int, *, max_bytes: int, max_depth: int) -> tuple[Any, int]:
    """Check and decode the item at `start`; return (value, end)."""
    end = scan_item(buf, start, max_bytes=max_bytes, max_depth=max_depth)
    return decode_checked(buf, start, end, max_depth=max_depth), end


def head_bytes(major: int, value: int) -> bytes:
    """The shortest head for `major` with argument `value` (RFC 8949 preferred encoding)."""
    if value < 24:
        return bytes([major << 5 | value])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if value < 1 << (8 * size):
            return bytes([major << 5 | info]) + value.to_bytes(size, "big")
    raise ValueError(f"{value} does not fit a CBOR head")


def array_head(length: int) -> bytes:
    """The head of an array of `length` items."""
    return head_bytes(_MAJOR_ARRAY, length)


def bytes_head(length: int) -> bytes:
    """The head of a byte string of `length` bytes."""
    return head_bytes(_MAJOR_BYTES, length)
