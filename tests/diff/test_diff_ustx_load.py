"""The piecewise USTX loader reads exactly what a whole-document parse reads, and uses the fast
path on what OpenUtau writes."""

from __future__ import annotations

import json
import random
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from utauproxy.diff.ustx_load import UstxLoader, load_ustx
from utauproxy.peers.edits import apply_edit, random_edit
from utauproxy.peers.project import ProjectSpec, generate_project
from utauproxy.peers.ustx import to_ustx

REAL_WIRE = Path(__file__).parents[1] / "data" / "real-wire" / "p6-linux" / "ou-to-plugin.bin"


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), edits=st.integers(0, 6))
def test_generated_projects_load_the_same_piecewise_and_whole(seed: int, edits: int) -> None:
    rng = random.Random(seed)
    project = generate_project(seed, ProjectSpec(notes=rng.randint(1, 40), tracks=rng.randint(1, 3),
                                                 parts_per_track=rng.randint(1, 2), curve_points=3))
    loader = UstxLoader()
    for _ in range(edits + 1):
        text = to_ustx(project)
        assert loader.load(text) == load_ustx(text)
        project = apply_edit(project, random_edit(project, rng))
    assert loader.whole_parses == 0


def test_the_real_wire_projects_load_the_same_piecewise_and_whole() -> None:
    loader = UstxLoader()
    texts = [json.loads(line.split(b" ", 1)[1])["ustx"] for line in REAL_WIRE.read_bytes().splitlines()
             if line.startswith(b"notification:updateUstx ")]
    assert texts
    for text in texts:
        assert loader.load(text) == load_ustx(text) is not None
    assert loader.whole_parses == 0


def test_a_resend_parses_only_the_pieces_that_changed() -> None:
    project = generate_project(7, ProjectSpec(notes=60, tracks=2, parts_per_track=1, curve_points=3))
    loader = UstxLoader()
    loader.load(to_ustx(project))
    parsed = loader.pieces_parsed
    edited = apply_edit(project, random_edit(project, random.Random(1)))
    assert loader.load(to_ustx(edited)) == load_ustx(to_ustx(edited))
    assert loader.pieces_parsed - parsed <= 3  # the edited note or track, its part


def test_odd_layouts_fall_back_to_a_whole_parse_with_the_same_result() -> None:
    odd = [
        "{name: flow, voice_parts: []}",
        "name: a\ncomment: |-\n  line one\n\n  line three\nvoice_parts:\n- name: p\n  notes:\n  - {position: 0}\n",
        "name: &n anchored\nother: *n\n",
        "--- \nname: doc\n",
        "name: a\nname: b\n",
        "name: x\n\tbad: tab\n",
        "",
        "- a list\n",
    ]
    for text in odd:
        assert UstxLoader().load(text) == load_ustx(text), text
