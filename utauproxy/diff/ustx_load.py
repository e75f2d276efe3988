"""USTX loading that stays fast across hundreds of near-identical resends. Pure.

OpenUtau resends the whole project on every edit (DESIGN.md §4), so two captures differing in
one lyric differ in every later resend, and each must be read as a project. YamlDotNet writes
USTX in block style: top-level keys at column 0, voice parts as `- ` items at column 0, notes
as `  - ` items under `  notes:`. The text is cut at exactly those places and each piece is
parsed on its own, once: a piece seen before (an unchanged note, the expression table) is
taken from a cache. Anything that does not look like that layout (flow style at the top,
anchors, tags, tabs, documents markers, a repeated key) is parsed whole, the slow way.
Pieces are shared between documents: callers must not modify what they get.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any

import yaml

_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):  # type: ignore[misc]
    """YamlDotNet writes `off`, `no` and `on` as plain strings (the expression options): only
    true/false are booleans, as for OpenUtau itself."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool",
                              re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))

_KEY_LINE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*:(?: |\Z)")
# Anchors, aliases and tags tie pieces together; directives and markers start documents.
_UNSAFE = re.compile(r"(?:^|[\s\[{,])[&*!]\S|^(?:---|\.\.\.|%)|\t", re.MULTILINE)
_PIECES = 1 << 15  # cached pieces (notes are the many); each is a few hundred bytes of YAML


class Unchunkable(ValueError):
    """The text is not laid out the way YamlDotNet writes USTX."""


class UstxLoader:
    """`load(text)`: the USTX document as a dict (or None), with pieces cached."""

    def __init__(self, pieces: int = _PIECES) -> None:
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._size = pieces
        self.whole_parses = 0  # documents that had to be parsed the slow way
        self.pieces_parsed = 0  # cache misses

    def load(self, text: str) -> dict[str, Any] | None:
        text = text.lstrip("\ufeff")
        if not text.strip():
            return None
        try:
            return self._chunked(text)
        except (Unchunkable, yaml.YAMLError, KeyError, IndexError, TypeError):
            self.whole_parses += 1
            return _whole(text)

    # -- pieces -----------------------------------------------------------------------------------

    def _piece(self, text: str) -> Any:
        if text in self._cache:
            self._cache.move_to_end(text)
            return self._cache[text]
        value = yaml.load(text, Loader=_Loader)
        self.pieces_parsed += 1
        self._cache[text] = value
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return value

    def _chunked(self, text: str) -> dict[str, Any]:
        if _UNSAFE.search(text):
            raise Unchunkable("anchors, tags, tabs or document markers")
        document: dict[str, Any] = {}
        for lines in _segments(text.split("\n")):
            key = lines[0].split(":", 1)[0]
            if key in document:
                raise Unchunkable(f"repeated key {key}")
            if key == "voice_parts" and lines[0] == "voice_parts:":
                document[key] = [self._part(item) for item in _items(lines[1:], "- ")]
            else:
                value = self._piece("\n".join(lines))
                if not isinstance(value, dict) or list(value) != [key]:
                    raise Unchunkable(f"segment {key} is not one key")
                document[key] = value[key]
        return document

    def _part(self, lines: list[str]) -> Any:
        start = next((i for i, line in enumerate(lines) if line == "  notes:"), None)
        if start is None:
            return self._item(lines)
        end = start + 1
        while end < len(lines) and (lines[end].startswith(("  - ", "    ")) or not lines[end]):
            end += 1
        part = self._item(lines[:start] + lines[end:])
        if not isinstance(part, dict) or "notes" in part:
            raise Unchunkable("a part's notes are not one block")
        notes = [self._item([line[2:] for line in note]) for note in _items(lines[start + 1 : end], "  - ")]
        return {**part, "notes": notes}

    def _item(self, lines: list[str]) -> Any:
        value = self._piece("\n".join(lines))
        if not isinstance(value, list) or len(value) != 1:
            raise Unchunkable("a list item is not one value")
        return value[0]


def _segments(lines: list[str]) -> list[list[str]]:
    """The top-level key segments: a key line at column 0 and the lines under it."""
    segments: list[list[str]] = []
    for line in lines:
        if not line:
            if segments:
                segments[-1].append(line)  # a blank line inside a block scalar is content
            continue
        if line[0] not in " -":
            if not _KEY_LINE.match(line):
                raise Unchunkable(f"not a key line: {line[:40]!r}")
            segments.append([line])
        elif not segments:
            raise Unchunkable("text before the first key")
        else:
            segments[-1].append(line)
    return segments


def _items(lines: list[str], marker: str) -> list[list[str]]:
    """Block-sequence items starting with `marker`, each with its continuation lines."""
    items: list[list[str]] = []
    continuation = " " * len(marker)
    for line in lines:
        if line.startswith(marker):
            items.append([line])
        elif items and (line.startswith(continuation) or not line):
            items[-1].append(line)
        else:
            raise Unchunkable(f"not part of a list item: {line[:40]!r}")
    return items


def _whole(text: str) -> dict[str, Any] | None:
    try:
        document = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError:
        return None
    return document if isinstance(document, dict) else None


def load_ustx(text: str) -> dict[str, Any] | None:
    """One USTX document, parsed whole (no cache): a dict, or None when it is empty or not a
    YAML mapping."""
    text = text.lstrip("\ufeff")
    return _whole(text) if text.strip() else None
