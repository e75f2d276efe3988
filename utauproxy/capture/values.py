"""Writer-side checks: only values every reader accepts reach the file.

Caller-supplied maps (a connection's detail, a discovery entry as found, header and footer
`extra`) are copied into the format's plain data model: text-keyed maps, lists, text, bytes,
integers, floats, booleans and null (docs/capture-format.md "CBOR subset").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from utauproxy.capture.layout import MAX_VALUE_DEPTH

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
UINT64_MAX = (1 << 64) - 1
_CBOR_INT_MIN = -(1 << 64)


def plain_value(value: Any, depth: int = 0) -> Any:
    """A copy of `value` in the plain data model.

    Integers beyond CBOR's 64-bit range (a discovery file from a stranger may hold one) become
    their decimal text, and text that is not valid UTF-8 (lone surrogates from
    surrogateescape) is escaped, so that a peer's odd data never stops a recording.
    Raises TypeError for other types or non-text map keys, ValueError for nesting deeper than
    MAX_VALUE_DEPTH (which also catches cycles).
    """
    if value is None or isinstance(value, (bool, float, bytes)):
        return value
    if isinstance(value, int):
        return int(value) if _CBOR_INT_MIN <= value <= UINT64_MAX else str(value)
    if isinstance(value, str):
        return plain_text(value)
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if depth >= MAX_VALUE_DEPTH:
        raise ValueError(f"value nested deeper than {MAX_VALUE_DEPTH} levels")
    if isinstance(value, (list, tuple)):
        return [plain_value(item, depth + 1) for item in value]
    if isinstance(value, Mapping):
        return plain_map(value, depth)
    raise TypeError(f"cannot store a {type(value).__name__} in a capture")


def plain_map(value: Mapping[Any, Any], depth: int = 0) -> dict[str, Any]:
    """A copy of a text-keyed map in the plain data model (see plain_value)."""
    if depth >= MAX_VALUE_DEPTH:
        raise ValueError(f"value nested deeper than {MAX_VALUE_DEPTH} levels")
    result: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise TypeError(f"map keys must be text, not {type(key).__name__}")
        result[plain_text(key)] = plain_value(item, depth + 1)
    return result


def plain_text(text: str) -> str:
    """`text` itself when it is valid Unicode, else with lone surrogates escaped."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return str(text)


def checked_int(value: int, name: str, low: int = INT64_MIN, high: int = INT64_MAX) -> int:
    """`value` as a plain int, or ValueError/TypeError when it is not an int in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name}={value} is outside [{low}, {high}]")
    return int(value)
