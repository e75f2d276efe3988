"""A bundle replayed as the plugin against the simulated OpenUtau. OpenUtau sends its own,
unredacted project, so the replay must redact what arrives the same way before comparing
(docs/redaction.md "Comparing"): with the key, exactly; without it, pseudonyms by kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from replay.helpers import replay_plugin_against_ou
from utauproxy.bundle import BundleOptions, build_bundle
from utauproxy.peers.session import with_track_volume_change
from utauproxy.replay.options import ReplayOptions
from utauproxy.replay.report import DivergenceKind

from .recorded import private_scenario, private_values, record
from .zipview import open_bundle

pytestmark = pytest.mark.anyio

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def _use_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: bytes) -> None:
    path = tmp_path / "redaction.key"
    path.write_bytes(key)
    path.chmod(0o600)
    monkeypatch.setenv("UTAUPROXY_REDACTION_KEY", str(path))


async def _bundled_capture(tmp_path: Path) -> Path:
    capture = await record(tmp_path, private_scenario())
    build_bundle(capture, tmp_path / "report.zip", BundleOptions(key=KEY))
    return open_bundle(tmp_path / "report.zip", tmp_path).capture


async def test_with_the_key_the_live_side_is_redacted_and_the_replay_is_identical(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _use_key(tmp_path, monkeypatch, KEY)
    capture = await _bundled_capture(tmp_path)
    run = await replay_plugin_against_ou(capture, tmp_path / "replay-dir", "P6", private_scenario(),
                                         ReplayOptions(timeout=3.0))
    report = run.report
    assert report.exit_code == 0, report.divergences
    assert report.compared == report.expected > 0
    assert any("same rules and key" in note for note in report.notes)


async def test_with_the_key_a_real_difference_is_still_caught_and_shown_redacted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _use_key(tmp_path, monkeypatch, KEY)
    capture = await _bundled_capture(tmp_path)
    scenario = private_scenario()
    run = await replay_plugin_against_ou(capture, tmp_path / "replay-dir", "P6",
                                         with_track_volume_change(scenario, 3.0), ReplayOptions(timeout=3.0))
    mismatches = [d for d in run.report.divergences if d.kind is DivergenceKind.MISMATCH]
    assert mismatches and any(f.path == "tracks[0].volume" for d in mismatches for f in d.diffs)
    shown = " ".join(f"{f.expected} {f.actual}" for d in mismatches for f in d.diffs)
    assert not [v for v in private_values(scenario) if len(v) >= 4 and v in shown]


async def test_without_the_key_pseudonyms_match_by_kind_and_audio_is_not_compared(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _use_key(tmp_path, monkeypatch, OTHER_KEY)  # a maintainer's machine: not the bundle's key
    capture = await _bundled_capture(tmp_path)
    run = await replay_plugin_against_ou(capture, tmp_path / "replay-dir", "P6", private_scenario(),
                                         ReplayOptions(timeout=3.0))
    assert run.report.exit_code == 0, run.report.divergences
    assert any("not on this machine" in note for note in run.report.notes)
