"""Tiny JSON shape checks for payloads and envelopes (no schema library: the shapes in
PROTOCOL.md §3 and §5.1 are small and the messages must say exactly what is wrong)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_DECIMAL = re.compile(r"-?[0-9]{1,20}")
_UINT32 = 1 << 32
_INT32_MIN = -(1 << 31)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_decimal(value: Any) -> bool:
    return isinstance(value, str) and _DECIMAL.fullmatch(value) is not None


def hash_value(value: Any) -> int | None:
    """An audio hash as an integer: JSON numbers (P5/P6) and decimal strings (P2/P3 plugins'
    missingAudios, updateAudio keys, API v1.2) alike; None for anything else."""
    if is_int(value):
        return int(value)
    if is_decimal(value):
        return int(value)
    return None


def same_hash_key(value: int) -> int:
    """A 32-bit hash and its signed/unsigned readings compare equal (uint in P2/P3, int in
    P5/P6, and a P2/P3 plugin reading P6 keys through `stoul`, PROTOCOL.md §6.9); 64-bit
    hashes (P4, API v1.2) stay as they are."""
    return value % _UINT32 if _INT32_MIN <= value < _UINT32 else value


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    test: Callable[[Any], bool]
    expected: str
    required: bool = True


def STRING(name: str, required: bool = True) -> Field:  # noqa: N802 - reads like a type
    return Field(name, lambda v: isinstance(v, str), "a string", required)


def NUMBER(name: str, required: bool = True) -> Field:  # noqa: N802
    return Field(name, is_number, "a number", required)


def INT(name: str, required: bool = True) -> Field:  # noqa: N802
    return Field(name, is_int, "an integer", required)


def BOOL(name: str, required: bool = True) -> Field:  # noqa: N802
    return Field(name, lambda v: isinstance(v, bool), "true or false", required)


def ARRAY(name: str, required: bool = True) -> Field:  # noqa: N802
    return Field(name, lambda v: isinstance(v, list), "an array", required)


def OBJECT(name: str, required: bool = True) -> Field:  # noqa: N802
    return Field(name, lambda v: isinstance(v, dict), "an object", required)


def HASH(name: str, required: bool = True) -> Field:  # noqa: N802
    return Field(name, lambda v: hash_value(v) is not None, "an integer or decimal string", required)


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {dict: "an object", list: "an array", str: "a string", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


def field_problems(value: Any, fields: tuple[Field, ...], where: str) -> list[str]:
    """What is wrong with `value` (an object) against `fields`; [] when it fits."""
    if not isinstance(value, dict):
        return [f"{where} is {type_name(value)}, not an object"]
    problems = []
    for spec in fields:
        if spec.name not in value:
            if spec.required:
                problems.append(f"{where} has no `{spec.name}`")
        elif not spec.test(value[spec.name]):
            problems.append(f"{where}.{spec.name} is {type_name(value[spec.name])}, not {spec.expected}")
    return problems


def items_problems(values: list[Any], fields: tuple[Field, ...], where: str,
                   limit: int = 3) -> list[str]:
    """`field_problems` for each element of an array, at most `limit` reported."""
    problems: list[str] = []
    for position, value in enumerate(values):
        problems.extend(field_problems(value, fields, f"{where}[{position}]"))
        if len(problems) >= limit:
            return problems[:limit]
    return problems
