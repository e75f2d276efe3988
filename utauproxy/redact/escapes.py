"""JSON string contents as they sit in the bytes: decoding with a map back to byte positions,
and encoding a changed string in the writer's own style.

The peers escape differently (PROTOCOL.md §3.3, §5.1): OpenUtau/Newtonsoft writes raw UTF-8,
choc writes `\\uxxxx` (lowercase) for every non-ASCII character and `\\a` for BEL, System.Text.Json
writes `\\uXXXX` (uppercase) and escapes `"` as `\\u0022`. To change only a span of a string we
decode it with, for every decoded character, the index of its escape sequence in the raw text.
"""

from __future__ import annotations

import json
import re

_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "\\": "\\",
                   "/": "/", "a": "\x07"}  # `\a`: choc's BEL (PROTOCOL.md §6.10)
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")
_UPPER_HEX_ESCAPE = re.compile(r"\\u[0-9A-F]{4}")
_ANY_HEX_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def unescape(raw: str) -> tuple[str, list[int] | None]:
    """Decode JSON string contents (no quotes). Returns the text and, when it had escapes,
    the raw index of each decoded character plus one final entry len(raw); None means the
    identity map. Lenient: an unknown escape decodes to its character, a lone backslash at the
    end stays a backslash."""
    if "\\" not in raw:
        return raw, None
    chars: list[str] = []
    starts: list[int] = []
    i = 0
    size = len(raw)
    while i < size:
        c = raw[i]
        starts.append(i)
        if c != "\\" or i + 1 >= size:
            chars.append(c)
            i += 1
            continue
        n = raw[i + 1]
        if n == "u" and _HEX4.match(raw, i + 2):
            code = int(raw[i + 2 : i + 6], 16)
            i += 6
            if 0xD800 <= code < 0xDC00 and raw.startswith("\\u", i) and _HEX4.match(raw, i + 2):
                low = int(raw[i + 2 : i + 6], 16)
                if 0xDC00 <= low < 0xE000:
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
            chars.append(chr(code))
            continue
        chars.append(_SIMPLE_ESCAPES.get(n, n))
        i += 2
    starts.append(size)
    return "".join(chars), starts


def raw_range(starts: list[int] | None, start: int, end: int) -> tuple[int, int]:
    """The raw index range of decoded characters [start, end)."""
    if starts is None:
        return start, end
    return starts[start], starts[end]


def encode_like(text: str, original_raw: str) -> str:
    """`text` as JSON string contents in the style of `original_raw` (raw UTF-8, or
    `\\uxxxx` escapes in lower or upper case). Characters from undecodable bytes
    (surrogateescape) come back as those bytes when the caller encodes with surrogateescape."""
    ascii_style = original_raw.isascii() and "\\u" in original_raw
    body = json.dumps(text, ensure_ascii=ascii_style)[1:-1]
    if ascii_style and _UPPER_HEX_ESCAPE.search(original_raw) and not re.search(
            r"\\u[0-9A-F]*[a-f]", original_raw):
        body = _ANY_HEX_ESCAPE.sub(lambda m: "\\u" + m.group(1).upper(), body)
    return body
