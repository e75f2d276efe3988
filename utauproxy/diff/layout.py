"""The part layout of two updatePartLayout requests compared by track and time. Pure.

A layout lists the rendered voice parts (PROTOCOL.md §3.4): a part not rendered yet is left
out, so by index one missing part shifts every later one. Parts pair by track and start time
instead (then, for a part that moved, by track and order), and a part's audio hash is compared
as a reference to its audio (hashes.py).
"""

from __future__ import annotations

from typing import Any

from utauproxy.diff.canon import HashRef, canonical_number, normalize_hash
from utauproxy.diff.findings import ABSENT, Finding
from utauproxy.diff.hashes import HashContext
from utauproxy.diff.values import walk

_HASH_KEY = "audioHash"


def _key(part: Any) -> tuple[Any, Any]:
    if not isinstance(part, dict):
        return (None, None)
    start = part.get("startMs")
    return (part.get("trackNo"), canonical_number(start) if isinstance(start, int | float) else start)


def _name(part: Any) -> str:
    track, start = _key(part)
    return f"t{track}@{start}"


def _text(part: Any) -> str:
    if not isinstance(part, dict):
        return str(part)
    return f"track {part.get('trackNo')}, {part.get('startMs')}–{part.get('endMs')} ms"


def _pairs(a: list[Any], b: list[Any]) -> list[tuple[Any, Any]]:
    unused = list(range(len(b)))
    pairs: list[tuple[Any, Any]] = []
    pending = []
    for part in a:
        match = next((j for j in unused if _key(b[j]) == _key(part)), None)
        if match is None:
            pending.append(part)
        else:
            unused.remove(match)
            pairs.append((part, b[match]))
    for part in pending:  # moved: the first unpaired part on the same track
        match = next((j for j in unused if _key(b[j])[0] == _key(part)[0]), None)
        if match is not None:
            unused.remove(match)
        pairs.append((part, b[match] if match is not None else None))
    pairs.extend((None, b[j]) for j in unused)
    return pairs


def compare_layout(a: list[Any], b: list[Any], hashes: HashContext, path: str = "parts") -> list[Finding]:
    """Differences between two layouts' part lists."""
    out: list[Finding] = []
    for left, right in _pairs(a, b):
        where = f"{path}[{_name(left if left is not None else right)}]"
        if left is None or right is None:
            out.append(Finding(f"layout {where}", where, ABSENT if left is None else _text(left),
                               ABSENT if right is None else _text(right)))
            continue
        if not (isinstance(left, dict) and isinstance(right, dict)):
            walk(left, right, where, lambda p: f"layout {p}", out)
            continue
        walk({k: v for k, v in left.items() if k != _HASH_KEY},
             {k: v for k, v in right.items() if k != _HASH_KEY}, where, lambda p: f"layout {p}", out)
        out.extend(_hash(left, right, where, hashes))
    return out


def _hash(left: dict[str, Any], right: dict[str, Any], where: str, hashes: HashContext) -> list[Finding]:
    child = f"{where}.{_HASH_KEY}"
    if _HASH_KEY not in left and _HASH_KEY not in right:
        return []
    if _HASH_KEY not in left or _HASH_KEY not in right:
        shown_a = str(left.get(_HASH_KEY, ABSENT))
        shown_b = str(right.get(_HASH_KEY, ABSENT))
        return [Finding(f"layout {child}", child, shown_a, shown_b)]
    ref_a = HashRef(child, normalize_hash(left[_HASH_KEY]), str(left[_HASH_KEY]))
    ref_b = HashRef(child, normalize_hash(right[_HASH_KEY]), str(right[_HASH_KEY]))
    finding = hashes.compare(ref_a, ref_b)
    return [finding] if finding is not None else []
