"""Pass 3: the payloads of one aligned pair whose fingerprints differ, compared in detail. Pure.

The JSON is compared by replay's structural comparison (`compare_payloads`), told to leave out
the three things this module knows better: audio hashes (references, see hashes.py), `ustx`
strings (compared as projects, see ustx.py) and `updateAudio` values (compared by samples,
see pairs.py). Track fields get the subjects USTX tracks use, so a pan change is one finding
whether updateTracks or the project carried it.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from utauproxy.diff.canon import Canonicalizer, HashRef, join_path
from utauproxy.diff.findings import Finding, show_text
from utauproxy.diff.layout import compare_layout
from utauproxy.diff.pairs import PairComparer, PairResult
from utauproxy.diff.rules import DiffOptions
from utauproxy.diff.ustx import compare_ustx, track_subject, ustx_subject
from utauproxy.diff.ustx_load import UstxLoader
from utauproxy.protocol.header import split_line
from utauproxy.protocol.lenient_json import loads
from utauproxy.replay.compare import compare_payloads, preview
from utauproxy.replay.rules import RuleSet

_TRACKS_PATH = re.compile(r"tracks\[(\d+)\]\.(.+)\Z")
_DOC_CACHE = 8


class PayloadComparer:
    """Compares the payloads of pairs marked `needs_detail`; keeps a few parsed USTX documents,
    since the init response and the first updateUstx usually carry the same text."""

    def __init__(self, pairs: PairComparer, options: DiffOptions) -> None:
        self.pairs = pairs
        self.options = options
        names = frozenset({"hashes", "ustx", "audio"})
        self._rules = RuleSet(names, options.ignore_paths)
        self._layout_rules = RuleSet(names, (*options.ignore_paths, "parts"))  # see layout.py
        self._docs: OrderedDict[str, dict[str, Any] | None] = OrderedDict()
        self._loader = UstxLoader()

    def compare(self, result: PairResult, raw_a: bytes, raw_b: bytes) -> None:
        a, b = result.item.a, result.item.b
        assert a is not None and b is not None
        payload_a, payload_b = _payload(raw_a), _payload(raw_b)
        if not (a.parsed and b.parsed):
            if payload_a != payload_b:
                result.findings.append(Finding(f"{a.label} (payload)", "(payload)", preview(payload_a),
                                               preview(payload_b)))
            return
        try:
            value_a, value_b = loads(payload_a), loads(payload_b)
        except ValueError:
            return  # parsed in pass 1, so this cannot happen; nothing sensible to add
        layouts = _parts(value_a), _parts(value_b)
        layout = layouts[0] is not None and layouts[1] is not None
        rules = self._layout_rules if layout else self._rules
        for diff in compare_payloads(payload_a, payload_b, rules):
            if diff.path.startswith("audios"):
                continue  # updateAudio entries were paired by their samples in pass 2
            result.findings.append(Finding(_subject(a.label, diff.path), diff.path,
                                           show_text(diff.expected), show_text(diff.actual)))
        if layouts[0] is not None and layouts[1] is not None:
            result.findings.extend(compare_layout(layouts[0], layouts[1], self.pairs.hashes))
        refs_a, refs_b = _refs(value_a, layout), _refs(value_b, layout)
        result.findings.extend(self.pairs.compare_refs(refs_a, refs_b))
        self._ustx(value_a, value_b, result)

    def _ustx(self, value_a: Any, value_b: Any, result: PairResult) -> None:
        texts_b = dict(_ustx_strings(value_b, ""))
        for path, text_a in _ustx_strings(value_a, ""):
            text_b = texts_b.get(path)
            if text_b is None or text_a == text_b:
                continue
            doc_a, doc_b = self._doc(text_a), self._doc(text_b)
            if doc_a is None or doc_b is None:
                result.findings.extend(_text_difference(path, text_a, text_b))
                continue
            findings = compare_ustx(doc_a, doc_b, path + ":")
            if findings:
                result.findings.extend(findings)
            elif self.options.ignores("json-format"):
                self.pairs.noise["json-format"] += 1
            else:
                result.findings.append(Finding("ustx formatting", path, "", "", rule="json-format",
                                               note="the same project, written differently"))

    def _doc(self, text: str) -> dict[str, Any] | None:
        if text in self._docs:
            self._docs.move_to_end(text)
            return self._docs[text]
        doc = self._loader.load(text)
        self._docs[text] = doc
        if len(self._docs) > _DOC_CACHE:
            self._docs.popitem(last=False)
        return doc


def _payload(raw: bytes) -> bytes:
    body = split_line(raw)[1]
    return b"" if body is None else body


def _subject(label: str, path: str) -> str:
    match = _TRACKS_PATH.match(path)
    if match and label == "notification:updateTracks":
        return track_subject(match.group(1), match.group(2))
    if ":" in path and path.split(":", 1)[0].endswith("ustx"):
        return ustx_subject(path)
    return f"{label} {path}"


def _parts(value: Any) -> list[Any] | None:
    parts = value.get("parts") if isinstance(value, dict) else None
    return parts if isinstance(parts, list) else None


def _refs(value: Any, layout: bool) -> list[HashRef]:
    """The hash references compare_refs still has to look at: not updateAudio keys (pass 2),
    not a layout's (compare_layout)."""
    canon = Canonicalizer()
    canon.digest(value)
    return [ref for ref in canon.refs
            if ref.path != "audios" and not (layout and ref.path.startswith("parts["))]


def _ustx_strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            child = join_path(path, str(key))
            if key == "ustx" and isinstance(item, str):
                yield child, item
            elif isinstance(item, dict | list):
                yield from _ustx_strings(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _ustx_strings(item, f"{path}[{index}]")


def _text_difference(path: str, text_a: str, text_b: str) -> list[Finding]:
    """USTX that is not a YAML mapping (empty, or broken): the first line that differs."""
    if not text_a.strip() or not text_b.strip():
        shown_a = "(empty)" if not text_a.strip() else f"a project of {len(text_a)} characters"
        shown_b = "(empty)" if not text_b.strip() else f"a project of {len(text_b)} characters"
        return [Finding(f"ustx:{path}", path, shown_a, shown_b)]
    lines_a, lines_b = text_a.splitlines(), text_b.splitlines()
    for number, (line_a, line_b) in enumerate(zip(lines_a, lines_b, strict=False), start=1):
        if line_a != line_b:
            where = f"{path}:line {number}"
            return [Finding(f"ustx:{where}", where, preview(line_a), preview(line_b),
                            note="not readable as a project; compared as text")]
    where = f"{path}:lines"
    return [Finding(f"ustx:{where}", where, str(len(lines_a)), str(len(lines_b)),
                    note="not readable as a project; compared as text")]
