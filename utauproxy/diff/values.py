"""A structural walk over two parsed values, with replay's comparison semantics. Pure.

Numbers compare by value (`1500.0` == `1500`), `true` never equals `1`, objects by key (order
is noise), lists by index. Used for the parts of a USTX project that have no more specific
pairing, and for the fields of one track, part or note.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from utauproxy.diff.canon import join_path
from utauproxy.diff.findings import ABSENT, Finding, show

Subject = Callable[[str], str]


def same_scalar(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def walk(a: Any, b: Any, path: str, subject: Subject, out: list[Finding]) -> None:
    """Append a Finding for every leaf that differs between `a` and `b` under `path`."""
    if a is b:
        return  # one shared piece (ustx_load caches them): nothing can differ
    if isinstance(a, dict) and isinstance(b, dict):
        for key, value in a.items():
            child = join_path(path, str(key))
            if key in b:
                walk(value, b[key], child, subject, out)
            else:
                out.append(Finding(subject(child), child, show(value), ABSENT))
        for key, value in b.items():
            if key not in a:
                child = join_path(path, str(key))
                out.append(Finding(subject(child), child, ABSENT, show(value)))
    elif isinstance(a, list) and isinstance(b, list):
        for index, (left, right) in enumerate(zip(a, b, strict=False)):
            walk(left, right, f"{path}[{index}]", subject, out)
        for index in range(len(b), len(a)):
            out.append(Finding(subject(f"{path}[{index}]"), f"{path}[{index}]", show(a[index]), ABSENT))
        for index in range(len(a), len(b)):
            out.append(Finding(subject(f"{path}[{index}]"), f"{path}[{index}]", ABSENT, show(b[index])))
    elif not same_scalar(a, b):
        out.append(Finding(subject(path), path, show(a), show(b)))
