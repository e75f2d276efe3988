"""Diffing and checking a bundle's redacted capture: the other side of a diff is redacted the
same way first, so a pseudonym is compared with a pseudonym, and `check` neither trips over the
silenced audio nor mistakes it for another protocol version (docs/redaction.md "Comparing")."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner

from utauproxy.bundle import BundleOptions, build_bundle
from utauproxy.cli import cli
from utauproxy.diff import diff_captures
from utauproxy.diff.redacted import DiffError
from utauproxy.peers.session import with_track_volume_change

from .recorded import private_scenario, record
from .zipview import open_bundle

KEY = bytes(range(32))


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The private session, and the same session with track 0 louder: two plain captures."""
    first = anyio.run(record, tmp_path_factory.mktemp("first"), private_scenario())
    louder = with_track_volume_change(private_scenario(), 3.0)
    second = anyio.run(record, tmp_path_factory.mktemp("second"), louder)
    return first, second


def _bundle(capture: Path, folder: Path, name: str) -> Path:
    (folder / name).mkdir()
    build_bundle(capture, folder / f"{name}.zip", BundleOptions(key=KEY))
    return open_bundle(folder / f"{name}.zip", folder / name).capture


def _use_key(folder: Path, monkeypatch: pytest.MonkeyPatch, key: bytes) -> None:
    path = folder / "redaction.key"
    path.write_bytes(key)
    path.chmod(0o600)
    monkeypatch.setenv("UTAUPROXY_REDACTION_KEY", str(path))


def test_a_bundle_and_its_original_are_equivalent_with_the_key(
        sessions: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _use_key(tmp_path, monkeypatch, KEY)
    original = sessions[0]
    bundled = _bundle(original, tmp_path, "a")
    for pair in ((original, bundled), (bundled, original)):
        report = diff_captures(*pair)
        assert report.equivalent, report.render()


def test_a_real_change_against_a_bundle_is_one_difference(
        sessions: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _use_key(tmp_path, monkeypatch, KEY)
    bundled = _bundle(sessions[0], tmp_path, "a")
    report = diff_captures(bundled, sessions[1])
    assert not report.equivalent
    assert "tracks[0].volume" in report.render()
    assert "mix for Alice" not in report.render()


def test_two_bundles_made_with_one_key_compare_without_the_key(
        sessions: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _use_key(tmp_path, monkeypatch, bytes(32))  # a maintainer: not the key that made them
    first = _bundle(sessions[0], tmp_path, "a")
    again = _bundle(sessions[0], tmp_path, "b")
    assert diff_captures(first, again).equivalent


def test_a_bundle_against_a_plain_capture_without_the_key_is_a_clear_error(
        sessions: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _use_key(tmp_path, monkeypatch, KEY)
    bundled = _bundle(sessions[0], tmp_path, "a")
    _use_key(tmp_path, monkeypatch, bytes(32))
    with pytest.raises(DiffError, match="not on this machine"):
        diff_captures(bundled, sessions[1])
    result = CliRunner().invoke(cli, ["diff", str(bundled), str(sessions[1])])
    assert result.exit_code == 2 and "not on this machine" in result.output
    assert "Traceback" not in result.output


def test_check_on_a_bundle_is_clean_and_names_the_recorded_version(
        sessions: tuple[Path, Path], tmp_path: Path) -> None:
    bundled = _bundle(sessions[0], tmp_path, "a")
    result = CliRunner().invoke(cli, ["check", str(bundled)])
    assert result.exit_code == 0, result.output
    assert "protocol P6" in result.output and "clean" in result.output
