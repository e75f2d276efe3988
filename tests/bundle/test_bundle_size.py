"""Size: an hour of editing bundles to at most 10 MB; over the limit, the oldest records go
(connection openings stay) and the README and the report say so."""

from __future__ import annotations

from pathlib import Path

import pytest

from utauproxy.bundle import DEFAULT_MAX_SIZE, BundleError, BundleOptions, build_bundle
from utauproxy.bundle.trim import NS
from utauproxy.peers.session import generate_session
from utauproxy.records import ConnectionRecord, ConnEvent, MessageRecord

from .synth import session_records, write_capture
from .zipview import open_bundle

KEY = bytes(range(32))


@pytest.fixture(scope="module")
def hour_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An hour of editing at a realistic pace (an edit every 2-4 s, each resending the
    project), audio parts kept tiny so that the test stays fast (redaction silences audio, so its
    length barely changes the bundle; scripts/bundle_size.py runs the full-size case)."""
    scenario = generate_session(1, edits=1100, notes=24, audio_seconds=0.005)
    assert scenario.duration >= 3300
    return write_capture(tmp_path_factory.mktemp("hour") / "hour.utpcap", session_records(scenario))


@pytest.fixture(scope="module")
def short_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scenario = generate_session(2, edits=150, notes=24, audio_seconds=0.005)
    return write_capture(tmp_path_factory.mktemp("short") / "short.utpcap", session_records(scenario))


def test_an_hour_of_editing_fits_in_10_mb_whole(hour_capture: Path, tmp_path: Path) -> None:
    report = build_bundle(hour_capture, tmp_path / "hour.zip", BundleOptions(key=KEY))
    assert report.size <= DEFAULT_MAX_SIZE == 10_000_000
    assert report.size_cap is None and not report.trim.dropped_anything
    opened = open_bundle(tmp_path / "hour.zip", tmp_path)
    assert sum(isinstance(r, MessageRecord) for r in opened.records) == report.trim.messages_kept > 5000
    assert "Dropped to make this bundle\n---------------------------\nnothing" in opened.readme


def test_over_the_limit_the_oldest_records_go_and_the_readme_says_so(short_capture: Path, tmp_path: Path) -> None:
    whole = build_bundle(short_capture, tmp_path / "whole.zip", BundleOptions(key=KEY))
    limit = whole.size * 2 // 3
    capped = build_bundle(short_capture, tmp_path / "capped.zip", BundleOptions(key=KEY, max_size=limit))
    assert capped.size <= limit < whole.size
    assert capped.size_cap is not None
    assert abs(capped.size_cap.first_size - whole.size) < 64  # the same build but for its timestamps
    kept_from = capped.size_cap.kept_from_ns
    assert capped.trim.records_dropped > 0 and capped.trim.dropped_spans[0][1] < kept_from
    opened = open_bundle(tmp_path / "capped.zip", tmp_path)
    early = [r for r in opened.records if r.ts_ns < kept_from]
    # Only the opening is kept from before the window: open, init request, init response.
    assert [type(r) for r in early][:1] == [ConnectionRecord] and early[0].event is ConnEvent.OPEN
    assert [r.raw.split(b" ")[0].split(b":")[0] for r in early if isinstance(r, MessageRecord)] == \
        [b"request", b"response"]
    assert all(r.ts_ns >= kept_from for r in opened.records[len(early):])
    assert "size limit:" in opened.readme and "were dropped" in opened.readme
    if capped.findings:  # the late first ping after the opening is the trimming's doing, and said so
        assert "may come from the trimming" in opened.readme
    last = max(r.ts_ns for r in opened.records)
    assert last >= whole.trim.last_kept_ns - 1  # the newest records are all there
    assert (last - kept_from) / NS >= 60


def test_a_limit_even_the_last_minute_cannot_fit_in_fails_clearly(short_capture: Path, tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="cannot fit even the last minute"):
        build_bundle(short_capture, tmp_path / "tiny.zip", BundleOptions(key=KEY, max_size=2000))
    assert not (tmp_path / "tiny.zip").exists()
    assert list(tmp_path.iterdir()) == []  # no temporary files left behind
