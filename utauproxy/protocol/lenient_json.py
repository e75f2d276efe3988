"""JSON as the real peers write it, and what the real plugin's parser would choke on.

The plugin writes JSON with choc, which emits the non-standard escape `\\a` for BEL
(PROTOCOL.md §6.10); strict parsers reject it, so `loads` retries with that quirk accepted.
Nothing here re-serialises anything: forwarded bytes stay exactly as they were.
"""

from __future__ import annotations

import json
import re
from typing import Any

# One escape pair at a time, left to right, so `\\a` (escaped backslash, then `a`) is untouched.
_ESCAPE_PAIR = re.compile(r"\\(.)", re.DOTALL)
_BEL_ESCAPE = "\\u0007"

# A string literal or a hazard token. The string branch is an unrolled loop that also accepts
# an unterminated string running to the end, so it never fails once started: linear time.
# Outside strings, `e+`/`E+` can only be part of a number, and NaN/Infinity only bare literals.
_HAZARD_SCAN = re.compile(
    rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)|(?P<plus_exp>[eE]\+)|(?P<non_finite>NaN|Infinity)',
    re.DOTALL,
)
_JSON_WHITESPACE = b" \t\r\n"


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
    stripped = payload.lstrip(_JSON_WHITESPACE)
    return stripped[0] if stripped else None


def plugin_hazards(payload: bytes) -> list[str]:
    """Reasons the real plugin's choc parser would reject this payload, which aborts the DAW
    (PROTOCOL.md §2.2, §6.10). Empty list: nothing known to be dangerous. Linear time."""
    reasons: list[str] = []
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        reasons.append(f"invalid UTF-8 at byte {exc.start}")
    if b"\r" in payload:
        reasons.append("contains CR (0x0D); the peers split on LF only (PROTOCOL.md §2.1)")
    first = _first_significant_byte(payload)
    if first is not None and first not in b"{[":
        reasons.append("top-level JSON value is not an object or array (PROTOCOL.md §2.2)")
    plus_exponent = non_finite = False
    for match in _HAZARD_SCAN.finditer(payload):
        plus_exponent = plus_exponent or match.group("plus_exp") is not None
        non_finite = non_finite or match.group("non_finite") is not None
    if plus_exponent:
        reasons.append("number with a '+' exponent (e.g. 1E+16) that choc cannot parse (§6.10)")
    if non_finite:
        reasons.append("bare NaN/Infinity literal that choc cannot parse (§6.10)")
    if not reasons and first is not None:
        try:
            loads(payload)
        except ValueError as exc:
            reasons.append(str(exc))
    return reasons
