"""The USTX line scan must report exactly what the PyYAML path reports, or step aside: checked
on generated projects and on many small mutations of them (indentation, quoting, flow items,
comments, anchors, repeated keys, bad YAML), each against a parse with PyYAML."""

from __future__ import annotations

import random
from typing import Any

import pytest
import yaml

from utauproxy.inspect.ustx import UstxSummary, summarize_ustx_text
from utauproxy.inspect.ustx_scan import scan_ustx
from utauproxy.peers.project import ProjectSpec, generate_project
from utauproxy.peers.ustx import to_ustx

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _by_yaml(text: str) -> UstxSummary:
    """The reference: what summarize_ustx_text said before the scan existed."""
    size = len(text.encode("utf-8", "surrogatepass"))
    try:
        document = yaml.load(text.lstrip("\ufeff"), Loader=_Loader)
    except yaml.YAMLError as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return UstxSummary(size, error=f"not YAML: {problem}")
    if not isinstance(document, dict):
        return UstxSummary(size, error="not a YAML mapping")
    name, parts = document.get("name"), document.get("voice_parts")
    voice = parts if isinstance(parts, list) else []

    def count(value: Any) -> int:
        return len(value) if isinstance(value, list) else 0

    return UstxSummary(size, name=name if isinstance(name, str) else None,
                       tracks=count(document.get("tracks")),
                       parts=len(voice) + count(document.get("wave_parts")),
                       notes=sum(count(p.get("notes")) for p in voice if isinstance(p, dict)))


_PROJECT = to_ustx(generate_project(5, ProjectSpec(notes=40)))
_LINES = _PROJECT.split("\n")
_INSERTS = ["# a comment", "name: 123", "name: 'quoted ''name'''", 'name: "esc\\u00e9 \\x41"', "tracks: []",
            "tracks: [a, b]", "wave_parts:", "- x", "  - x", "    - {x: 1, y: -2}", "voice_parts: {}",
            "  notes: []", "  notes:", "  - 1", "name: &a anchored", "extra: *a", "name: |", "  block",
            "name: a: b", "name: a #c", "-", "- - nested", "name:", "  nested: map", "\tname: tab",
            "name: [1, 2]", "notes: x", "    notes:", "   odd: indent", "name: ~", "name: yes",
            "name: 'unterminated", "---", "...", "name: {a: 1}", "name: ok\r", "- notes: []",
            "  - notes:", "    - a", "name: \u2028", "name: \x07", "tracks:", "- {}", "? complex",
            "name: -", "name: -1", "name: ::", "  mod+: 3", "name: \"a\" b"]


def test_a_generated_project_is_read_by_the_scan_and_agrees() -> None:
    assert scan_ustx(_PROJECT) is not None
    assert summarize_ustx_text(_PROJECT) == _by_yaml(_PROJECT)
    assert summarize_ustx_text("\ufeff" + _PROJECT) == _by_yaml("\ufeff" + _PROJECT)


@pytest.mark.parametrize("seed", range(12))
def test_projects_of_every_shape_agree(seed: int) -> None:
    rng = random.Random(seed)
    spec = ProjectSpec(tracks=rng.randint(1, 4), notes=rng.randint(0, 60))
    text = to_ustx(generate_project(seed, spec))
    assert summarize_ustx_text(text) == _by_yaml(text)


@pytest.mark.parametrize("seed", range(60))
def test_mutated_projects_agree_with_pyyaml(seed: int) -> None:
    """Each mutation is either read by the scan with PyYAML's own answer, or left to PyYAML."""
    rng = random.Random(seed)
    lines = list(_LINES)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(lines))
        action = rng.randrange(4)
        if action == 0:
            lines.insert(at, rng.choice(_INSERTS))
        elif action == 1:
            del lines[at]
        elif action == 2:
            lines[at] = " " * rng.randint(0, 3) + lines[at]
        else:
            lines[at] = lines[at].lstrip(" ")
    text = "\n".join(lines)
    assert summarize_ustx_text(text) == _by_yaml(text)


@pytest.mark.parametrize("text", [line + "\n" + rest for line in _INSERTS
                                  for rest in ("tracks:\n- a\n- b", "voice_parts:\n- notes:\n  - 1\n  - 2\n- x")])
def test_small_documents_agree(text: str) -> None:
    assert summarize_ustx_text(text) == _by_yaml(text)
