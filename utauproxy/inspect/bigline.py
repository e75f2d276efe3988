"""Validating a big line (an `updateAudio` of tens of MB) without a JSON parse of all of it.

The framer's validation (`classify_line`) decodes the payload to text and parses it whole:
~0.25 s per 64 MiB, nearly all of it spent on the base64 strings. Here, for an ASCII line,
every long string literal made only of base64 characters (so: no escapes, no control
characters, no quotes) is swapped for a short unique placeholder, the small rest is parsed
with the same lenient parser, and the strings are put back. The strings are valid JSON string
tokens either way, so the rest parses exactly when the whole would, to the same value.
Anything else (non-ASCII, escapes in a long string, a placeholder clash, a line the framer
would reject) returns None and the caller validates the line the usual way, so the result,
including every error message, is the framer's own.
"""

from __future__ import annotations

import os
from typing import Any

import pybase64
import xxhash

from utauproxy.protocol.events import Dialect, Message
from utauproxy.protocol.framer import classify_line
from utauproxy.protocol.header import HeaderType
from utauproxy.protocol.lenient_json import loads

LONG_STRING = 1 << 16  # string literals at least this long are put aside
_BASE64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_BASE64_MASK = bytes(1 if byte in _BASE64 else 0 for byte in range(256))  # 0: not base64
_BACKSLASH = 0x5C
_CHECK_PIECE = 1 << 16  # bytes checked at a time by _only_base64 (a multiple of 4)
_NONCE = os.urandom(8).hex()
# Long strings already found to be pure base64, by a 128-bit hash and length: OpenUtau resends
# the same audio, and the check reads every byte (~7 ms per 64 MiB).
_KNOWN_KEPT = 1024
_KNOWN_BASE64: dict[tuple[int, int], None] = {}


def validated_big_line(raw: bytes, *, terminated: bool, dialect: Dialect) -> Message | None:
    """The validated Message `classify_line(raw, validate=True)` would return, or None when
    this shortcut does not apply (the caller then calls classify_line)."""
    if not raw.isascii():
        return None
    message = classify_line(raw, terminated=terminated, validate=False, dialect=dialect)
    if not isinstance(message, Message) or message.header.type is HeaderType.CLOSE:
        return None
    if message.header.type is HeaderType.REQUEST and message.header.kind is None:
        return None
    sep = raw.find(b" ")
    spans = _long_strings(raw, sep + 1)
    if not spans:
        return None
    markers = [f"\x00{_NONCE}:{n}" for n in range(len(spans))]
    pieces: list[bytes] = []
    pos = sep + 1
    for (start, end), marker in zip(spans, markers):
        pieces += [raw[pos:start], marker.encode("ascii").replace(b"\x00", b"\\u0000")]
        pos = end
    pieces.append(raw[pos:])
    skeleton = b"".join(pieces)
    if not skeleton.strip():
        return None
    try:
        value = loads(skeleton)
    except ValueError:
        return None
    if not isinstance(value, dict | list):
        return None
    strings = {marker: (start, end) for marker, (start, end) in zip(markers, spans)}
    if not _put_back(value, strings, memoryview(raw)) or strings:
        return None  # a placeholder went missing (a repeated key) or appeared twice
    message._json_cache.append(value)
    return message


def plain_strings(raw: bytes, start: int, min_length: int) -> list[tuple[int, int]]:
    """(start, end) of the contents of each string literal after `start` that is at least
    `min_length` bytes long and has no escape: its bytes are its text's UTF-8 encoding."""
    found: list[tuple[int, int]] = []
    pos = start
    while True:
        opening = raw.find(b'"', pos)
        if opening < 0:
            break
        closing = raw.find(b'"', opening + 1)
        while closing >= 0 and _escaped(raw, closing):
            closing = raw.find(b'"', closing + 1)
        if closing < 0:
            break  # unterminated: not JSON, the framer will say so
        if closing - opening - 1 >= min_length and raw.find(b"\\", opening + 1, closing) < 0:
            found.append((opening + 1, closing))
        pos = closing + 1
    return found


def _long_strings(raw: bytes, start: int) -> list[tuple[int, int]]:
    """(start, end) of the contents of each long, pure-base64 string literal after `start`."""
    candidates = plain_strings(raw, start, LONG_STRING)
    if not candidates:
        return []
    view = memoryview(raw)
    keys = [(xxhash.xxh3_128_intdigest(view[a:b]), b - a) for a, b in candidates]
    if all(key in _KNOWN_BASE64 for key in keys):
        return candidates  # the same audio again: checked when it was first seen
    spans = []
    for (a, b), key in zip(candidates, keys):
        if _only_base64(view[a:b]):
            spans.append((a, b))
            _remember(key)
    return spans


def _only_base64(text: memoryview) -> bool:
    """Whether every byte of `text` is one of the 65 base64 characters. A piece that strict
    base64 decoding accepts is made of them only (pybase64 accepts a subset of what strict
    binascii does, which rejects anything outside the alphabet); a piece it rejects (a
    length not a multiple of 4, padding inside) is looked at byte by byte. Small pieces keep
    the throwaway output in the cache: ~10 GB/s, against ~1 GB/s for `bytes.translate`."""
    for start in range(0, len(text), _CHECK_PIECE):
        piece = text[start : start + _CHECK_PIECE]
        try:
            pybase64.b64decode(piece, validate=True)
        except ValueError:
            if bytes(piece).translate(_BASE64_MASK).find(0) >= 0:
                return False
    return True


def _remember(key: tuple[int, int]) -> None:
    if len(_KNOWN_BASE64) >= _KNOWN_KEPT:
        _KNOWN_BASE64.pop(next(iter(_KNOWN_BASE64)))
    _KNOWN_BASE64[key] = None


def _escaped(raw: bytes, quote: int) -> bool:
    before = quote - 1
    while raw[before] == _BACKSLASH:
        before -= 1
    return (quote - 1 - before) % 2 == 1


def _put_back(value: Any, strings: dict[str, tuple[int, int]], raw: memoryview) -> bool:
    """Replace placeholders in `value` by their strings, removing each from `strings`.
    False when a placeholder is a key or appears twice."""
    items: Any = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in list(items):
        if isinstance(key, str) and key.startswith("\x00") and key in strings:
            return False
        if isinstance(item, str):
            if item.startswith("\x00") and item in strings:
                start, end = strings.pop(item)
                value[key] = str(raw[start:end], "ascii")
            elif item.startswith("\x00") and item.startswith(f"\x00{_NONCE}:"):
                return False  # a placeholder seen twice
        elif isinstance(item, dict | list) and not _put_back(item, strings, raw):
            return False
    return True
