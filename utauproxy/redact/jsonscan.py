"""Redacting a JSON payload by splicing its string literals; everything else stays byte-exact.

The scanner finds string literals and brackets with one regex and keeps a stack of the keys
that opened each container, so a value knows its key and its parents' keys (`tracks[].name`,
`audios.<hash>`, `data.ustx`). It never needs the payload to be valid: a cut write
(PROTOCOL.md §6.1) ends inside a string, which the regex takes to the end of the data, and a
malformed line is scanned for whatever literals it has. Bytes between literals are checked:
anything that is not JSON punctuation, a number or a literal word (a damaged line, a glued
ping) goes through the free-text scrubber, so known values cannot pass there either.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from utauproxy.redact.escapes import encode_like, unescape

# A string literal (possibly unterminated at the end of the data) or a bracket.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:(?P<close>")|\\?\Z)|[{}\[\]]', re.DOTALL)
_WHITESPACE = b" \t\r\n"
_NOT_JSON_PUNCT = re.compile(rb"[^\s{}\[\]:,0-9.eE+\-]")
_JSON_WORDS = re.compile(rb"true|false|null|NaN|Infinity")


@dataclass(frozen=True, slots=True)
class Literal:
    """One string value: its key, the keys of its enclosing containers, its raw contents."""

    key: str | None
    parents: tuple[str | None, ...]
    raw: bytes  # contents between the quotes, as in the payload


# A handler gets a value literal and returns new raw contents, or None to leave it.
ValueHandler = Callable[[Literal], "bytes | None"]
GapHandler = Callable[[bytes], bytes]


def _key_text(raw: bytes) -> str:
    text, _ = unescape(raw.decode("utf-8", "surrogateescape"))
    return text


def _is_key(payload: bytes, after: int) -> bool:
    size = len(payload)
    while after < size and payload[after] in _WHITESPACE:
        after += 1
    return after < size and payload[after] == 0x3A  # ':'


def _gap_is_clean(gap: bytes) -> bool:
    return _NOT_JSON_PUNCT.search(gap) is None or _NOT_JSON_PUNCT.search(
        _JSON_WORDS.sub(b"", gap)) is None


def redact_json(payload: bytes, on_value: ValueHandler, on_gap: GapHandler) -> bytes:
    """`payload` with value literals replaced as `on_value` says and suspicious bytes between
    literals passed through `on_gap`. Keys are kept (they are schema or hashes)."""
    out: list[bytes] = []
    cursor = 0
    # Each open container: (is_array, key that opened it); `pending` is the last key seen.
    stack: list[tuple[bool, str | None]] = []
    pending: str | None = None
    for match in _TOKENS.finditer(payload):
        start, end = match.span()
        if start > cursor:
            gap = payload[cursor:start]
            out.append(gap if _gap_is_clean(gap) else on_gap(gap))
        cursor = end
        first = payload[start]
        if first == 0x22:  # '"'
            terminated = match.group("close") is not None
            body_end = end - 1 if terminated else end
            raw = payload[start + 1 : body_end]
            if terminated and _is_key(payload, end):
                pending = _key_text(raw)
                out.append(match.group(0))
                continue
            in_array = bool(stack) and stack[-1][0]
            key = stack[-1][1] if in_array else pending
            parents = tuple(entry[1] for entry in stack)
            replaced = on_value(Literal(key, parents, raw))
            if replaced is None:
                out.append(match.group(0))
            else:
                out.append(payload[start : start + 1] + replaced + payload[body_end:end])
            continue
        out.append(match.group(0))
        if first in (0x7B, 0x5B):  # '{' '['
            in_array = bool(stack) and stack[-1][0]
            stack.append((first == 0x5B, stack[-1][1] if in_array else pending))
            pending = None
        elif stack:
            stack.pop()
    if cursor < len(payload):
        gap = payload[cursor:]
        out.append(gap if _gap_is_clean(gap) else on_gap(gap))
    return b"".join(out)


def rewrite_text(raw: bytes, change: Callable[[str], str]) -> bytes | None:
    """Apply `change` to a literal's decoded text; None if nothing changed, else the new text
    encoded in the literal's own escaping style."""
    raw_text = raw.decode("utf-8", "surrogateescape")
    text, _ = unescape(raw_text)
    changed = change(text)
    if changed == text:
        return None
    return encode_like(changed, raw_text).encode("utf-8", "surrogateescape")
