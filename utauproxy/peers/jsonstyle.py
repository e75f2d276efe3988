"""JSON exactly as each real peer writes it (PROTOCOL.md §2.1, §3.3, §5.1).

The proxy never re-serialises what it forwards, but the simulated peers must *produce* bytes
that look like the real ones, because captures, `diff` and `check` are tested against them:

* Newtonsoft (OpenUtau, line protocol): compact, raw UTF-8, doubles always with `.0` or an
  exponent (`1500.0`, `1E+15`).
* choc (the S plugin): `{"a": 1, "b": [1, 2]}`, every non-ASCII character as lowercase
  `\\uxxxx`, BEL as the non-JSON escape `\\a` (§6.10).
* System.Text.Json (OpenUtau, API v1.2): compact, doubles without a forced `.0`, non-ASCII and
  HTML-sensitive characters as uppercase `\\uXXXX`.
* nlohmann (the v1.2 bridge): compact, keys sorted, raw UTF-8.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

_SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def net_double(value: float) -> str:
    """A double as .NET Core formats it with "R"/"G": shortest round-trip digits, scientific
    notation from 1E+15 up and from 1E-05 down, at least two exponent digits. No forced `.0`."""
    if math.isnan(value) or math.isinf(value):
        raise ValueError("the simulated peers never write NaN or Infinity")
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple))
    point = len(digits) + exponent - 1  # power of ten of the first digit
    digits = digits.rstrip("0") or "0"
    prefix = "-" if value < 0 else ""
    if point >= 15 or point < -4:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{prefix}{mantissa}E{'+' if point >= 0 else '-'}{abs(point):02d}"
    if point < 0:
        return f"{prefix}0.{'0' * (-point - 1)}{digits}"
    whole, frac = digits[: point + 1].ljust(point + 1, "0"), digits[point + 1 :]
    return f"{prefix}{whole}.{frac}" if frac else f"{prefix}{whole}"


def newtonsoft_double(value: float) -> str:
    """Newtonsoft's EnsureDecimalPlace on top of "R": `0.0`, `1500.0`, `1E+15`."""
    text = net_double(value)
    return text if ("." in text or "E" in text) else text + ".0"


def _hex4(code: int, upper: bool) -> str:
    return f"\\u{code:04X}" if upper else f"\\u{code:04x}"


def _escaper(pattern: str, escape_one: Callable[[str], str]) -> Callable[[str], str]:
    compiled = re.compile(pattern)

    def replace(match: re.Match[str]) -> str:
        return escape_one(match.group(0))

    def escape(text: str) -> str:
        return compiled.sub(replace, text) if compiled.search(text) else text

    return escape


def _newtonsoft_one(char: str) -> str:
    return _SHORT_ESCAPES.get(char) or _hex4(ord(char), upper=False)


def _choc_one(char: str) -> str:
    if char == "\a":
        return "\\a"  # choc's non-standard escape (PROTOCOL.md §6.10)
    short = _SHORT_ESCAPES.get(char)
    if short:
        return short
    code = ord(char)
    if code > 0xFFFF:
        code -= 0x10000
        return _hex4(0xD800 + (code >> 10), False) + _hex4(0xDC00 + (code & 0x3FF), False)
    return _hex4(code, upper=False)


def _stj_one(char: str) -> str:
    # JavaScriptEncoder.Default escapes `"` as \u0022 too, but keeps the short `\\` escape.
    if char == "\\" or (char in _SHORT_ESCAPES and char != '"'):
        return _SHORT_ESCAPES[char]
    code = ord(char)
    if code > 0xFFFF:
        code -= 0x10000
        return _hex4(0xD800 + (code >> 10), True) + _hex4(0xDC00 + (code & 0x3FF), True)
    return _hex4(code, upper=True)


@dataclass(frozen=True, slots=True)
class JsonStyle:
    """How one real JSON writer lays out values."""

    item_sep: str
    key_sep: str
    sort_keys: bool
    escape: Callable[[str], str]
    format_float: Callable[[float], str]

    def dumps(self, value: Any) -> str:
        """Serialise `value` (dict, list, tuple, str, int, float, bool, None)."""
        parts: list[str] = []
        self._write(value, parts)
        return "".join(parts)

    def dumpb(self, value: Any) -> bytes:
        return self.dumps(value).encode("utf-8")

    def _write(self, value: Any, out: list[str]) -> None:
        if value is None:
            out.append("null")
        elif value is True:
            out.append("true")
        elif value is False:
            out.append("false")
        elif isinstance(value, int):
            out.append(str(value))
        elif isinstance(value, float):
            out.append(self.format_float(value))
        elif isinstance(value, str):
            out.append('"' + self.escape(value) + '"')
        elif isinstance(value, Mapping):
            self._write_object(value, out)
        elif isinstance(value, Sequence):
            self._write_array(value, out)
        else:
            raise TypeError(f"cannot serialise {type(value).__name__}")

    def _write_object(self, value: Mapping[str, Any], out: list[str]) -> None:
        keys = sorted(value) if self.sort_keys else list(value)
        out.append("{")
        for n, key in enumerate(keys):
            if n:
                out.append(self.item_sep)
            out.append('"' + self.escape(str(key)) + '"' + self.key_sep)
            self._write(value[key], out)
        out.append("}")

    def _write_array(self, value: Sequence[Any], out: list[str]) -> None:
        out.append("[")
        for n, item in enumerate(value):
            if n:
                out.append(self.item_sep)
            self._write(item, out)
        out.append("]")


NEWTONSOFT = JsonStyle(
    item_sep=",",
    key_sep=":",
    sort_keys=False,
    escape=_escaper("[\x00-\x1f\"\\\\\x85\u2028\u2029]", _newtonsoft_one),
    format_float=newtonsoft_double,
)
CHOC = JsonStyle(
    item_sep=", ",
    key_sep=": ",
    sort_keys=False,
    escape=_escaper("[\x00-\x1f\"\\\\\x80-\U0010ffff]", _choc_one),
    format_float=lambda value: repr(value),
)
SYSTEM_TEXT_JSON = JsonStyle(
    item_sep=",",
    key_sep=":",
    sort_keys=False,
    escape=_escaper("[\x00-\x1f\"\\\\<>&'+`\x7f-\U0010ffff]", _stj_one),
    format_float=net_double,
)
NLOHMANN = JsonStyle(
    item_sep=",",
    key_sep=":",
    sort_keys=True,
    escape=_escaper("[\x00-\x1f\"\\\\]", _newtonsoft_one),
    format_float=lambda value: repr(value) if not value.is_integer() else f"{value:.1f}",
)
