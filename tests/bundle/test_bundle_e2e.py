"""A session recorded through the real recorder, bundled: nothing private survives anywhere in
the zip, the README says what a maintainer needs, and the redacted capture still replays."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from utauproxy.bundle import BundleOptions, build_bundle
from utauproxy.peers.plugin import PluginConfig, PluginHandle, serve_plugin
from utauproxy.redact import MANIFEST_KEY

from .recorded import PLUGIN_NAME, byte_forms, private_scenario, private_values, record
from .zipview import Opened, open_bundle

REPLAY = [sys.executable, "-m", "utauproxy.cli.replay"]
KEY = bytes(range(32))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    folder = tmp_path_factory.mktemp("recorded")
    scenario = private_scenario()
    capture = anyio.run(record, folder, scenario)
    return capture, private_values(scenario, PLUGIN_NAME, str(folder))


@pytest.fixture(scope="module")
def bundled(recorded: tuple[Path, set[str]], tmp_path_factory: pytest.TempPathFactory) -> Opened:
    capture, _ = recorded
    work = tmp_path_factory.mktemp("bundled")
    report = build_bundle(capture, work / "report.zip", BundleOptions(key=KEY))
    assert report.size == (work / "report.zip").stat().st_size
    return open_bundle(work / "report.zip", work)


def leaks(blob: bytes, values: set[str], *, short_in_lyrics_only: bool) -> list[str]:
    found = []
    for value in sorted(values):
        if value.isascii() and len(value) < 4:
            # Two-letter lyrics ("la", "oh") are everywhere in English and base64: look for
            # them where a lyric would be, in the USTX as JSON carries it.
            if short_in_lyrics_only and re.search(rb"lyric: \"?" + re.escape(value.encode()) + rb"\"?\\n", blob):
                found.append(value)
            continue
        if any(form in blob for form in byte_forms(value)):
            found.append(value)
    return found


def test_the_recording_holds_the_private_values_to_begin_with(recorded: tuple[Path, set[str]]) -> None:
    from .zipview import (
        CaptureReader,  # the unredacted capture: the test would prove nothing otherwise
    )

    capture, values = recorded
    with CaptureReader.open(capture) as reader:
        blob = b"\n".join(getattr(r, "raw", repr(r).encode()) for r in reader.records())
    assert len(leaks(blob, values, short_in_lyrics_only=True)) >= 10


def test_no_lyric_name_or_path_survives_anywhere_in_the_zip(bundled: Opened, recorded: tuple[Path, set[str]]) -> None:
    _, values = recorded
    assert sorted(bundled.names) == ["README.txt", "capture.utpcap", "environment.json"]
    assert leaks(bundled.capture_bytes(), values, short_in_lyrics_only=True) == []
    assert leaks(bundled.text_bytes(), values, short_in_lyrics_only=False) == []
    manifest = bundled.header.extra[MANIFEST_KEY]
    assert manifest["rules"]["lyrics"]["changed"] > 0 and manifest["rules"]["names"]["changed"] > 0
    assert manifest["rules"]["audio"]["applied"] is True


def test_the_readme_has_versions_findings_and_the_timeline(bundled: Opened) -> None:
    readme = bundled.readme
    for section in ("Protocol version detected", "Check findings", "Timeline of the last minutes",
                    "Redaction", "Environment", "Capture"):
        assert f"\n{section}" in readme
    versions = readme.split("Protocol version detected")[1].split("\n\n")[0]
    assert "P6" in versions
    timeline = readme.split("Timeline of the last minutes")[1]
    assert "updateUstx" in timeline and "updatePartLayout" in timeline
    assert all(len(line) <= 100 for line in readme.splitlines())
    assert "\x1b[" not in readme  # no colour
    assert bundled.footer_extra["protocol"]["version"] == "P6"
    assert bundled.environment["capture"]["writer"].startswith("utauproxy")
    assert bundled.environment["bundle"]["redacted"] is True


def test_the_redacted_capture_replays_against_the_simulated_plugin(bundled: Opened, tmp_path: Path) -> None:
    async def replay() -> subprocess.CompletedProcess[bytes]:
        async with anyio.create_task_group() as tasks:
            plugin: PluginHandle = await tasks.start(serve_plugin, PluginConfig(
                version="P6", discovery_dir=tmp_path / "live", ping_interval=0.1, seed=1))
            done = await anyio.run_process(
                [*REPLAY, str(bundled.capture), "--as", "openutau", "--dir", str(plugin.directory),
                 "--speed", "max", "--timeout", "5", "--json"], check=False)
            await plugin.unload()
        return done

    done = anyio.run(replay)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    report = json.loads(done.stdout)
    assert report["verdict"] == "identical" and report["sent"] > 0


def test_keep_opts_out_of_one_rule_only(recorded: tuple[Path, set[str]], tmp_path: Path) -> None:
    capture, values = recorded
    build_bundle(capture, tmp_path / "keep.zip", BundleOptions(key=KEY, keep=frozenset({"lyrics", "audio"})))
    opened = open_bundle(tmp_path / "keep.zip", tmp_path)
    manifest = opened.header.extra[MANIFEST_KEY]
    assert manifest["rules"]["lyrics"] == {"applied": False, "changed": 0}
    assert manifest["rules"]["audio"]["applied"] is False
    found = leaks(opened.capture_bytes(), values, short_in_lyrics_only=True)
    scenario = private_scenario()
    lyrics = {n.lyric for p in scenario.projects() for part in p.voice_parts for n in part.notes}
    assert found and set(found) <= lyrics  # the lyrics are there, the names and paths are not
    assert "silenced" not in opened.readme
