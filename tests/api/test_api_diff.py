"""`diff_captures` through the public API, on the shipped sample captures."""

from __future__ import annotations

from pathlib import Path

import utauproxy
from utauproxy import DiffOptions, diff_captures

SAMPLES = Path(__file__).resolve().parents[2] / "captures"


def test_a_capture_is_equivalent_to_itself() -> None:
    sample = SAMPLES / "sample-P6.utpcap"
    report = diff_captures(sample, sample, DiffOptions())
    assert report.equivalent and "diff_captures" in utauproxy.__all__


def test_p3_against_p6_names_the_protocol_changes() -> None:
    report = diff_captures(str(SAMPLES / "sample-P3.utpcap"), SAMPLES / "sample-P6.utpcap")  # str or Path
    assert not report.equivalent
    text = report.render()
    assert "P3 → P6" in text and "missingAudios: strings → numbers" in text
