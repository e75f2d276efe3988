"""JSON as the real peers write it, and what the real plugin's parser would choke on.

The plugin writes JSON with choc, which emits the non-standard escape `\\a` for BEL
(PROTOCOL.md §6.10); strict parsers reject it, so `loads` retries with that quirk accepted.
Nothing here re-serialises anything: forwarded bytes stay exactly as they were.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

# One escape pair at a time, left to right, so `\\a` (escaped backslash, then `a`) is untouched.
_ESCAPE_PAIR = re.compile(r"\\(.)", re.DOTALL)
_BEL_ESCAPE = "\\u0007"

# Outside string literals, `e+`/`E+` can only be part of a number, and NaN/Infinity only bare
# literals. Strings are skipped with `find` (a 64 MiB base64 string is one memchr), so only the
# few bytes between strings are searched.
_HAZARD_TOKEN = re.compile(rb"(?P<plus_exp>[eE]\+)|(?P<non_finite>NaN|Infinity)")
_SIGNIFICANT = re.compile(rb"[^ \t\r\n]")
_BACKSLASH = 0x5C


def _replace_choc_escape(match: re.Match[str]) -> str:
    return _BEL_ESCAPE if match.group(1) == "a" else match.group(0)


def _decode_utf8(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"invalid UTF-8 at byte {exc.start}") from exc


def loads(data: bytes | str) -> Any:
    """Parse JSON as the peers write it. Strict first; on failure accept choc's `\\a` escape
    (PROTOCOL.md §6.10) and retry. Raises ValueError on invalid UTF-8 or anything else that is
    not JSON. Like Python's json module, bare NaN/Infinity are accepted (Newtonsoft reads
    them too); `plugin_hazards` reports them."""
    text = _decode_utf8(data)
    try:
        return json.loads(text)
    except json.JSONDecodeError as strict_error:
        if "\\a" not in text:
            raise ValueError(f"not JSON: {strict_error}") from None
    patched = _ESCAPE_PAIR.sub(_replace_choc_escape, text)
    try:
        return json.loads(patched)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None


def _first_significant_byte(payload: bytes) -> int | None:
    found = _SIGNIFICANT.search(payload)
    return payload[found.start()] if found else None


def _outside_strings(payload: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of every stretch of `payload` outside JSON string literals. A string runs
    from a quote to the next quote not escaped by an odd run of backslashes, or to the end
    when it is never closed."""
    pos, size = 0, len(payload)
    while True:
        opening = payload.find(b'"', pos)
        if opening < 0:
            yield pos, size
            return
        yield pos, opening
        closing = payload.find(b'"', opening + 1)
        while closing >= 0:
            before = closing - 1
            while payload[before] == _BACKSLASH:
                before -= 1
            if (closing - 1 - before) % 2 == 0:
                break
            closing = payload.find(b'"', closing + 1)
        if closing < 0:
            return
        pos = closing + 1


def _hazard_tokens(payload: bytes) -> tuple[bool, bool]:
    """(a '+' exponent, a bare NaN/Infinity) somewhere outside string literals."""
    plus_exponent = non_finite = False
    for start, end in _outside_strings(payload):
        for match in _HAZARD_TOKEN.finditer(payload, start, end):
            plus_exponent = plus_exponent or match.group("plus_exp") is not None
            non_finite = non_finite or match.group("non_finite") is not None
        if plus_exponent and non_finite:
            break
    return plus_exponent, non_finite


def plugin_hazards(payload: bytes, *, parsed: bool = False) -> list[str]:
    """Reasons the real plugin's choc parser would reject this payload, which aborts the DAW
    (PROTOCOL.md §2.2, §6.10). Empty list: nothing known to be dangerous. Linear time.
    `parsed`: the caller knows `loads(payload)` succeeds (a line the framer validated), so
    the UTF-8 check and the parse, which could only agree, are skipped."""
    reasons: list[str] = []
    if not parsed:
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            reasons.append(f"invalid UTF-8 at byte {exc.start}")
    if b"\r" in payload:
        reasons.append("contains CR (0x0D); the peers split on LF only (PROTOCOL.md §2.1)")
    first = _first_significant_byte(payload)
    if first is not None and first not in b"{[":
        reasons.append("top-level JSON value is not an object or array (PROTOCOL.md §2.2)")
    plus_exponent, non_finite = _hazard_tokens(payload)
    if plus_exponent:
        reasons.append("number with a '+' exponent (e.g. 1E+16) that choc cannot parse (§6.10)")
    if non_finite:
        reasons.append("bare NaN/Infinity literal that choc cannot parse (§6.10)")
    if not reasons and first is not None and not parsed:
        try:
            loads(payload)
        except ValueError as exc:
            reasons.append(str(exc))
    return reasons
