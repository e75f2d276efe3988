"""A USTX summary from a line scan, for the block-style YAML OpenUtau writes (PROTOCOL.md §3.5).

Building the whole YAML document of a 145 KB project costs ~0.2 s in PyYAML's constructor,
and `show` meets hundreds of resends. The summary needs only a few counts, so this scan reads
the text line by line under a deliberately narrow grammar: block mappings and sequences,
single-line scalars (plain, single- or double-quoted) and single-line flow collections of
simple scalars. Every line it accepts is valid YAML in that position, so a text it accepts
is a valid document whose counts it knows. Anything else (comments, anchors, tags, multi-line
scalars, tabs, odd indentation, ...) returns None, and the caller parses the text with PyYAML
as before: results are identical either way, only the speed differs.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

# Characters PyYAML's reader rejects (and the line breaks other than LF it would honour).
_OUTSIDE_GRAMMAR = re.compile(
    "[^\x0a\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029]"
)
_INDENT_DASH = re.compile(r"( *)(?:-( +|$))?")
_KEY = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_+.\-]{0,99}):(?: +|$)")
_DQ = r'"(?:[^"\\]|\\(?:[0abtnvfre "/\\N_LP]|x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}))*"'
_SQ = r"'(?:[^']|'')*'"
_PLAIN = r"""(?:[^\s\-?:,\[\]{}#&*!|>'"%@`]|[-?:][^\s,\[\]{}])(?:(?!:\s|\s#).)*"""
_FLOW_VALUE = rf"(?:-?[A-Za-z0-9_.+]+|{_DQ})"
_FLOW_MAP = rf"\{{ *(?:[A-Za-z_][A-Za-z0-9_]*: +{_FLOW_VALUE}(?:, +[A-Za-z_][A-Za-z0-9_]*: +{_FLOW_VALUE})*)? *\}}"
_FLOW_SEQ = rf"\[ *(?:{_FLOW_VALUE}(?:, +{_FLOW_VALUE})*)? *\]"
_VALUE = re.compile(rf"(?:{_DQ}|{_SQ}|{_FLOW_MAP}|{_FLOW_SEQ}|{_PLAIN}) *")


class _OutsideGrammar(Exception):
    """The text uses YAML this scan does not read; PyYAML must."""


# A line reduced to what the structure and the counts depend on: (column of its first token,
# starts with `- `, column of the body after the dash, key or None, inline value or None).
# Keys and values the summary never looks at are reduced to placeholders, so that resends of
# a project whose edits change values only have the same sequence of shapes.
_Shape = tuple[int, bool, int, str | None, str | None]
_WATCHED_TOP = frozenset({"name", "tracks", "voice_parts", "wave_parts"})
_OTHER_KEY = ""  # a key the summary does not look at
_SOME_VALUE = "\0"  # an inline value the summary does not look at (no scalar reads like this)
_SHAPES_KEPT = 1 << 17
_RESULTS_KEPT = 32
_shape_ids: dict[str, int] = {}  # line -> shape id (-1: outside the grammar)
_shape_of: dict[_Shape, int] = {}
_shapes: list[_Shape] = []


@dataclass(frozen=True, slots=True)
class ScannedUstx:
    """What summarize_ustx_text reports about a valid project document."""

    name: str | None
    tracks: int
    parts: int
    notes: int


_results: dict[tuple[int, ...], ScannedUstx | None] = {}


@dataclass
class _Entry:
    """One key's value as far as the summary cares: its inline text, or a block under it."""

    inline: str | None = None
    block: str | None = None  # "seq" or "map"
    items: int = 0
    parts: list[_Part | None] = field(default_factory=list)  # voice_parts items (None: not a mapping)


@dataclass
class _Part:
    notes: _Entry | None = None


@dataclass(slots=True)
class _Block:
    kind: str  # "seq" or "map"
    column: int
    owner: _Entry | _Part | None  # what this block's items or keys count into


def scan_ustx(text: str) -> ScannedUstx | None:
    """The summary of `text` (no BOM, not blank), or None when it is outside the grammar.
    Lines and whole line-shape sequences are remembered: a resend costs a split and a
    dictionary look-up per line."""
    ids = _line_ids(text)
    if ids is None:
        return None
    key = tuple(ids)
    if key in _results:
        return _results[key]
    try:
        result = _summary(_Scanner().run([_shapes[i] for i in ids]))
    except _OutsideGrammar:
        result = None
    if len(_results) >= _RESULTS_KEPT:
        _results.pop(next(iter(_results)))
    _results[key] = result
    return result


def _line_ids(text: str) -> list[int] | None:
    if len(_shape_ids) > _SHAPES_KEPT or len(_shapes) > _SHAPES_KEPT:
        for table in (_shape_ids, _shape_of, _shapes, _results):
            table.clear()  # ids are reused from here on: results keyed by old ones must go
    get = _shape_ids.get
    ids = [get(line, -2) for line in text.split("\n")]
    if -2 in ids:
        lines = text.split("\n")
        ids = [i if i != -2 else _new_shape_id(lines[n]) for n, i in enumerate(ids)]
    return None if -1 in ids else ids


def _new_shape_id(line: str) -> int:
    try:
        shape = _shape(line)
    except _OutsideGrammar:
        _shape_ids[line] = -1
        return -1
    found = _shape_of.get(shape)
    if found is None:
        found = _shape_of[shape] = len(_shapes)
        _shapes.append(shape)
    _shape_ids[line] = found
    return found


def _shape(line: str) -> _Shape:
    if "\t" in line or "\r" in line or _OUTSIDE_GRAMMAR.search(line):
        raise _OutsideGrammar
    head = _INDENT_DASH.match(line)
    assert head is not None  # both groups may match empty
    column, body_at, dash = len(head.group(1)), head.end(), head.group(2) is not None
    if body_at == len(line):
        if dash:
            raise _OutsideGrammar  # `-` alone: a block item on the next lines
        return (column, False, body_at, None, None)  # blank
    key = _KEY.match(line, body_at)
    if key is None:
        if not dash:
            raise _OutsideGrammar  # a bare scalar where a key belongs, a comment, ...
        _value(line, body_at)
        return (column, True, body_at, None, _SOME_VALUE)
    name = key.group(1)
    watched = name == "notes" or (not dash and column == 0 and name in _WATCHED_TOP)
    inline = None if key.end() == len(line) else _value(line, key.end())
    if not watched:
        name, inline = _OTHER_KEY, None if inline is None else _SOME_VALUE
    return (column, dash, body_at, name, inline)


class _Scanner:
    def __init__(self) -> None:
        self.top: dict[str, _Entry] = {}
        self.stack: list[_Block] = []
        self.pending: tuple[int, _Entry | None] | None = None  # a `key:` awaiting its block

    def run(self, shapes: list[_Shape]) -> dict[str, _Entry]:
        for shape in shapes:
            if shape[3] is None and shape[4] is None:
                continue  # blank
            self._line(shape)
        if not self.stack:
            raise _OutsideGrammar
        return self.top

    def _line(self, shape: _Shape) -> None:
        column, dash = shape[0], shape[1]
        if not self.stack:
            if column or dash:
                raise _OutsideGrammar
            self.stack.append(_Block("map", 0, None))
        else:
            self._place(column, "seq" if dash else "map")
        if dash:
            self._item(shape)
        else:
            self._key(shape, self.stack[-1])

    def _place(self, column: int, kind: str) -> None:
        """Close blocks the line is outside of; open the block a pending `key:` awaited."""
        stack = self.stack
        if self.pending is not None:
            key_column, entry = self.pending
            self.pending = None
            if column > key_column or (column == key_column and kind == "seq"):
                if entry is not None:
                    entry.block = kind
                stack.append(_Block(kind, column, entry))
                return
        while stack and stack[-1].column > column:
            stack.pop()
        if stack and stack[-1].kind == "seq" and kind == "map" and len(stack) > 1 \
                and stack[-2].column == column:
            stack.pop()  # the end of a sequence written at its key's indentation
        if not stack or stack[-1].column != column or stack[-1].kind != kind:
            raise _OutsideGrammar

    def _item(self, shape: _Shape) -> None:
        owner = self.stack[-1].owner
        voice = self.top.get("voice_parts")
        if isinstance(owner, _Entry):
            owner.items += 1
        if shape[3] is None:  # a scalar or flow item
            if owner is not None and owner is voice:
                voice.parts.append(None)
            return
        part: _Part | None = None
        if owner is not None and owner is voice:
            part = _Part()
            voice.parts.append(part)
        mapping = _Block("map", shape[2], part)
        self.stack.append(mapping)
        self._key(shape, mapping)

    def _key(self, shape: _Shape, mapping: _Block) -> None:
        name, inline = shape[3], shape[4]
        entry: _Entry | None = None
        if mapping.column == 0 and len(self.stack) == 1:
            if name:  # a repeated key: the last one wins, as in PyYAML
                entry = self.top[name] = _Entry()
        elif isinstance(mapping.owner, _Part) and name == "notes":
            entry = mapping.owner.notes = _Entry()
        if inline is None:
            self.pending = (shape[2], entry)
        elif entry is not None:
            entry.inline = inline


def _value(line: str, start: int) -> str:
    match = _VALUE.fullmatch(line, start)
    if match is None:
        raise _OutsideGrammar
    value = line[start:].rstrip(" ")
    if value.endswith(":"):
        raise _OutsideGrammar
    return value


def _list_length(entry: _Entry | None) -> int | None:
    """Items of the list `entry` holds, or None when it holds no list."""
    if entry is None:
        return None
    if entry.block == "seq":
        return entry.items
    if entry.inline is None:
        return None
    if entry.inline.startswith("["):
        if entry.inline.replace(" ", "") != "[]":
            raise _OutsideGrammar  # items of a flow list: let PyYAML count them
        return 0
    return None


def _summary(top: dict[str, _Entry]) -> ScannedUstx | None:
    try:
        tracks = _list_length(top.get("tracks"))
        voice = _list_length(top.get("voice_parts"))
        wave = _list_length(top.get("wave_parts"))
        entry = top.get("voice_parts")
        notes = 0
        if voice and entry is not None:
            for part in entry.parts:
                notes += (_list_length(part.notes) or 0) if part is not None else 0
    except _OutsideGrammar:
        return None
    return ScannedUstx(_name(top.get("name")), tracks or 0, (voice or 0) + (wave or 0), notes)


def _name(entry: _Entry | None) -> str | None:
    if entry is None or entry.inline is None:
        return None  # absent, null, or a block (not a string)
    value = _scalar(entry.inline)
    return value if isinstance(value, str) else None


@functools.lru_cache(maxsize=256)
def _scalar(text: str) -> Any:
    """One scalar as PyYAML's safe loader resolves it (a project name: `123` is an int)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
