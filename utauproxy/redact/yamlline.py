"""USTX YAML, one line at a time: which spans of a line are sensitive strings, and of what kind.

Not a YAML parser: a line classifier for the block style YamlDotNet writes (PROTOCOL.md §3.5)
that stays safe on anything else. The state between lines is a small hashable tuple (the
open mapping keys and whether a block or multi-line quoted scalar is running), so callers can
cache `(state, line) -> (spans, state)`: a project resend differs from the last one by one
edit, so nearly every line is a cache hit.

Every string scalar is a span unless its field is on the allow-list (expression tables,
phonemizer, renderer, colours, curve abbreviations, pitch shapes …), it is empty, or it is one
of the lyric symbols OpenUtau gives meaning to. Numbers, booleans, nulls and keys stay, so
the redacted text parses to the same shape.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple, TypeAlias

from utauproxy.redact.tokens import Category


class Span(NamedTuple):
    start: int  # offsets into the line as given (decoded text)
    end: int
    # None: an allow-listed string, kept unless it equals a value known to be sensitive.
    category: Category | None
    value: str  # the scalar's value (quotes and YAML escapes removed), for the token


Stack: TypeAlias = tuple[tuple[int, str], ...]  # (column, key) of open mapping keys
# None, ("block", column, category), ("plain", column, category), ('"' or "'", category)
Mode: TypeAlias = tuple[str, int, str] | None
State: TypeAlias = tuple[Stack, Mode]
INITIAL_STATE: Final[State] = ((), None)

# Lyric symbols with a meaning to OpenUtau or its phonemizers (extender, slur, rest, breath…).
STRUCTURAL_LYRICS: Final = frozenset(
    {"+", "+~", "+*", "+-", "-", "R", "r", "ー", "SP", "AP", "br", "sil", "pau", "・"})
_SAFE_SECTIONS: Final = frozenset({"expressions", "exp_selectors"})
_SAFE_KEYS: Final = frozenset({
    "ustx_version", "phonemizer", "renderer", "resampler", "wavtool", "engine", "track_color",
    "type", "abbr", "shape", "flag", "is_flag", "options", "exp_selectors", "snap_first",
})
_NAME_KEYS: Final = frozenset({"name", "track_name", "part_name"})
_LYRIC_KEYS: Final = frozenset({"lyric", "phoneme"})
_PATH_KEYS: Final = frozenset(
    {"output_dir", "cache_dir", "relative_path", "file_path", "path", "filepath", "dir"})
_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_+.\-]+\Z")
# Plain scalars that are not strings (YAML core schema), as YamlDotNet would read them back.
_NON_STRING = re.compile(
    r"(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE"
    r"|[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|0x[0-9a-fA-F]+|0o[0-7]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z")
_PATH_LIKE = re.compile(r"^(?:[A-Za-z]:[\\/]|[\\/]|~[\\/]|\.\.?[\\/])|[\\/][^\\/\s]+[\\/]")
_BLOCK_HEADER = re.compile(r"[|>][0-9+\-]*\s*(?:#.*)?\Z")
_PROPERTY = re.compile(r"(?:[&!][^\s]*\s+)+")
_FLOW_ITEM = re.compile(
    r"\s*(?:(?P<key>[^\s:,{}\[\]\"'][^:,{}\[\]]*?)\s*:\s+)?"
    r"(?P<val>\"(?:[^\"\\]|\\.)*\"|'(?:[^']|'')*'|[^,{}\[\]]*?)\s*(?P<end>[,}\]]|\Z)")
_WORD = re.compile(r"[^\s,:{}\[\]\"'#]+")
_YAML_ESCAPES: Final = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v",
                        "f": "\f", "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/",
                        "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029"}
_YAML_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.DOTALL)


def category_for(keys: tuple[str, ...], key: str | None) -> Category | None:
    """The category of a string under `key` with open parent `keys`; None: allow-listed."""
    section = keys[0] if keys else key
    if section in _SAFE_SECTIONS:
        return None
    if key in _LYRIC_KEYS:
        return "lyric"
    if key == "singer":
        return "singer"
    if key in _NAME_KEYS:
        return "name"
    if key in _PATH_KEYS:
        return "path"
    if key in _SAFE_KEYS or (keys and keys[-1] in _SAFE_KEYS):
        return None
    return "text"


def _unquote_double(body: str) -> str:
    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        if code[0] in "xuU" and len(code) > 1:
            try:
                return chr(int(code[1:], 16))
            except ValueError:
                return code
        return _YAML_ESCAPES.get(code, code)

    return _YAML_ESCAPE.sub(replace, body) if "\\" in body else body


def _scalar_span(start: int, end: int, raw: str, category: Category | None,
                 plain: bool) -> Span | None:
    """A span for one scalar (`raw` = its text without quotes), or None if it stays."""
    if not raw or (plain and _NON_STRING.match(raw)):
        return None
    value = raw
    if category is None and not _PATH_LIKE.search(raw):
        return Span(start, end, None, value)
    if category is None or (category == "text" and not any(c.isspace() for c in raw)
                            and _PATH_LIKE.search(raw)):
        category = "path"
    if category == "lyric" and value in STRUCTURAL_LYRICS:
        return None
    return Span(start, end, category, value)


def _close_double(line: str, pos: int) -> int:
    """Index of the closing `"` from pos, or -1."""
    i = pos
    while True:
        j = line.find('"', i)
        if j < 0:
            return -1
        backslashes = 0
        k = j - 1
        while k >= pos and line[k] == "\\":
            backslashes += 1
            k -= 1
        if backslashes % 2 == 0:
            return j
        i = j + 1


def _close_single(line: str, pos: int) -> int:
    i = pos
    while True:
        j = line.find("'", i)
        if j < 0:
            return -1
        if line.startswith("''", j):
            i = j + 2
            continue
        return j


class _Line:
    """Classifies one line; collects spans."""

    __slots__ = ("line", "spans")

    def __init__(self, line: str) -> None:
        self.line = line
        self.spans: list[Span] = []

    def add(self, span: Span | None) -> None:
        if span is not None and span.end > span.start:
            self.spans.append(span)

    def quoted(self, pos: int, category: Category | None) -> tuple[int, Mode]:
        """A quoted scalar opening at pos. Returns the index after it and the new mode."""
        quote = self.line[pos]
        close = _close_double(self.line, pos + 1) if quote == '"' else _close_single(self.line, pos + 1)
        end = close if close >= 0 else len(self.line)
        body = self.line[pos + 1 : end]
        value = _unquote_double(body) if quote == '"' else body.replace("''", "'")
        span = _scalar_span(pos + 1, end, value, category, plain=False)
        if span is not None:
            self.add(Span(pos + 1, end, span.category, value))
        if close < 0:
            kind = span.category if span is not None and span.category else (category or "text")
            return len(self.line), (quote, 0, kind)
        return close + 1, None

    def plain(self, pos: int, column: int, category: Category | None) -> Mode:
        """A plain scalar from pos to the end (or a ` #` comment)."""
        rest = self.line[pos:]
        comment = rest.find(" #")
        body = rest if comment < 0 else rest[:comment]
        stripped = body.rstrip()
        self.add(_scalar_span(pos, pos + len(stripped), stripped, category, plain=True))
        if comment >= 0:
            self.comment(pos + comment + 2)
        return ("plain", column, category or "")

    def comment(self, pos: int) -> None:
        text = self.line[pos:].strip()
        if text and not text.isspace():
            start = self.line.index(text[0], pos)
            self.add(Span(start, start + len(text), "text", text))

    def flow(self, pos: int, keys: tuple[str, ...], key: str | None) -> None:
        """A one-line flow mapping or sequence: `{x: 1, shape: io}`, `[]`, `[a, b]`."""
        line = self.line
        i = pos + 1
        while i < len(line):
            match = _FLOW_ITEM.match(line, i)
            if match is None or match.end() == i:
                break
            item_key = match.group("key") or key
            val = match.group("val")
            start = match.start("val")
            if val and val[0] in "\"'":
                self.quoted(start, category_for(keys, item_key))
            else:
                self.add(_scalar_span(start, start + len(val), val, category_for(keys, item_key),
                                      plain=True))
            i = match.end()
            if match.group("end") in ("}", "]", ""):
                break
        if line[i:].strip():
            self._leftover_words(i, keys, key)

    def _leftover_words(self, pos: int, keys: tuple[str, ...], key: str | None) -> None:
        # Flow syntax this classifier does not follow: every word that could be a string
        # becomes a token, so nothing passes through unread.
        for word in _WORD.finditer(self.line, pos):
            self.add(_scalar_span(word.start(), word.end(), word.group(0),
                                  category_for(keys, key) or "text", plain=True))


def _inside_mode(line: str, stack: Stack, mode: Mode) -> tuple[list[Span], State] | None:
    """Lines that continue a block scalar or a multi-line scalar."""
    assert mode is not None
    kind, column, category = mode
    cat: Category = category if category in _CATEGORY_NAMES else "text"  # type: ignore[assignment]
    if kind in ('"', "'"):
        close = _close_double(line, 0) if kind == '"' else _close_single(line, 0)
        end = close if close >= 0 else len(line)
        body = line[:end]
        text = body.strip()
        spans = []
        if text:
            start = body.index(text[0])
            spans.append(Span(start, start + len(text), cat, text))
        return spans, (stack, mode if close < 0 else None)
    stripped = line.lstrip(" ")
    indent = len(line) - len(stripped)
    if not stripped.strip():
        return [], (stack, mode)
    if indent <= column:
        return None
    text = stripped.rstrip()
    if kind == "plain" and (not category or _NON_STRING.match(text)):
        return [], (stack, mode)
    return [Span(indent, indent + len(text), cat, text)], (stack, mode)


_CATEGORY_NAMES: Final = frozenset({"lyric", "name", "singer", "path", "text", "user"})


def classify_line(state: State, line: str) -> tuple[list[Span], State]:
    """The sensitive spans of one USTX line (without its LF; a trailing CR is left alone) and
    the state for the next line. Never raises on any input."""
    stack, mode = state
    if line.endswith("\r"):
        line = line[:-1]
    if mode is not None:
        handled = _inside_mode(line, stack, mode)
        if handled is not None:
            return handled
    stripped = line.lstrip(" ")
    indent = len(line) - len(stripped)
    work = _Line(line)
    if not stripped or stripped in ("---", "...") or stripped.startswith("%"):
        return [], (stack, None)
    if stripped.startswith("#"):
        work.comment(indent + 1)
        return work.spans, (stack, None)
    pos = indent
    dash = indent - 1  # a bare scalar's continuation lines are indented past this column
    while line.startswith("- ", pos) or line[pos:] == "-" or line.startswith("-\t", pos):
        dash = pos
        pos += 2 if len(line) > pos + 1 else 1
        while pos < len(line) and line[pos] == " ":
            pos += 1
    column = pos
    stack = tuple(entry for entry in stack if entry[0] < column)
    keys = tuple(key for _, key in stack)
    new_mode = _content(work, pos, column, dash, keys)
    pushed = new_mode if isinstance(new_mode, tuple) and new_mode[0] == "push" else None
    if pushed is not None:
        return work.spans, (stack + ((column, pushed[2]),), None)
    return work.spans, (stack, new_mode)


def _content(work: _Line, pos: int, column: int, dash: int, keys: tuple[str, ...]) -> Mode:
    line = work.line
    if pos >= len(line):
        return None
    prop = _PROPERTY.match(line, pos)
    if prop:
        pos = prop.end()
    key, value_pos = _mapping_key(line, pos)
    if key is None:
        return _value(work, pos, dash, keys, keys[-1] if keys else None)
    if not _SIMPLE_KEY.match(key):
        start = pos + 1 if line[pos] in "\"'" else pos
        work.add(Span(start, start + len(key), "text", key))
    rest = line[value_pos:].strip()
    if not rest or rest.startswith("#"):
        if rest:
            work.comment(line.index("#", value_pos) + 1)
        return ("push", column, key)
    start = line.index(rest[0], value_pos)
    return _value(work, start, column, keys, key)


def _value(work: _Line, pos: int, threshold: int, keys: tuple[str, ...],
           key: str | None) -> Mode:
    """A value at pos; continuation lines (block or folded plain) are indented past
    `threshold`."""
    line = work.line
    prop = _PROPERTY.match(line, pos)
    if prop:
        pos = prop.end()
    if pos >= len(line):
        return None
    first = line[pos]
    category = category_for(keys, key)
    if first in "|>" and _BLOCK_HEADER.match(line, pos):
        return ("block", threshold, category or "text")
    if first in "\"'":
        end, mode = work.quoted(pos, category)
        if line[end:].strip().startswith("#"):
            work.comment(line.index("#", end) + 1)
        return mode
    if first in "{[":
        work.flow(pos, keys, key)
        return None
    if first == "*":
        return None  # an alias names an anchor, not data
    return work.plain(pos, threshold, category)


def _mapping_key(line: str, pos: int) -> tuple[str | None, int]:
    """(key, index after `:`) if the content at pos is `key: …` or `key:`; else (None, pos)."""
    first = line[pos] if pos < len(line) else ""
    if first and first in "\"'":
        close = _close_double(line, pos + 1) if first == '"' else _close_single(line, pos + 1)
        if close >= 0 and line.startswith(":", close + 1) and (
                close + 2 >= len(line) or line[close + 2] in " \t"):
            return line[pos + 1 : close], close + 2
        return None, pos
    if not first or first in "{[#|>&*!%@`,":
        return None, pos
    i = pos
    while True:
        j = line.find(":", i)
        if j < 0:
            return None, pos
        if j + 1 >= len(line) or line[j + 1] in " \t":
            key = line[pos:j]
            if " #" in key:
                return None, pos
            return key.rstrip(), j + 1
        i = j + 1
