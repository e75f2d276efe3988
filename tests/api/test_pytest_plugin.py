"""The pytest plugin, run through `pytester` against the simulated peers: a passing replay, a
failing one whose message names the field, a re-record, and the strict defaults."""

from __future__ import annotations

import shutil
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from anyio.from_thread import start_blocking_portal

from utauproxy import open_capture
from utauproxy.peers.plugin import serve_plugin

from . import utau_sim as sim

pytest_plugins = ["pytester"]

HERE = Path(__file__).parent

PLUGIN_ROLE_TEST = '''
import pytest
import utau_sim as sim

@pytest.mark.utau_capture("captures/session.utpcap", role="plugin")
def test_openutau_session(utau_peer):
    sim.run_openutau_session(utau_peer.discovery_dir, sim.{scenario})
'''


@pytest.fixture
def suite(pytester: pytest.Pytester, session_capture: Path) -> pytest.Pytester:
    """A project with `captures/session.utpcap` beside its tests and our simulated peers."""
    pytester.syspathinsert(HERE)
    (pytester.path / "captures").mkdir()
    shutil.copyfile(session_capture, pytester.path / "captures" / "session.utpcap")
    return pytester


def test_the_plugin_is_registered_through_the_entry_point(pytester: pytest.Pytester) -> None:
    assert any(e.value == "utauproxy.pytest_plugin" for e in entry_points(group="pytest11"))
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.utau_capture(path, role='plugin', **options)*"])
    assert "--utau-record" in pytester.runpytest("--help").stdout.str()


def test_a_faithful_openutau_passes(suite: pytest.Pytester) -> None:
    suite.makepyfile(PLUGIN_ROLE_TEST.format(scenario="one_edit_session()"))
    suite.runpytest().assert_outcomes(passed=1)


def test_a_diverging_openutau_fails_with_the_field_in_the_message(suite: pytest.Pytester) -> None:
    suite.makepyfile(PLUGIN_ROLE_TEST.format(scenario="with_track_volume_change(sim.one_edit_session(), 3.0)"))
    result = suite.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*plugin replay of session.utpcap: the peer diverged from the capture",
        "*MISMATCH notification:updateTracks",
        "*field tracks[[]0[]].volume: expected 6.29*, got 9.29*",
    ])
    assert "Traceback" not in result.stdout.str()  # the report, not our internals
    assert "During handling" not in result.stdout.str()


def test_the_openutau_role_drives_the_plugin_under_test(suite: pytest.Pytester) -> None:
    suite.makepyfile('''
import pytest
import utau_sim as sim
from anyio.from_thread import start_blocking_portal
from utauproxy.peers.plugin import serve_plugin

@pytest.mark.utau_capture("captures/session.utpcap", role="openutau", speed="max")
def test_plugin_build(utau_peer):
    with start_blocking_portal() as portal:
        plugin = portal.start_task(serve_plugin, sim.plugin_config(utau_peer.discovery_dir))[1]
        utau_peer.replay.report is None or pytest.fail("finished before the plugin existed")
        while plugin.closed_connections < 1:
            portal.call(__import__("anyio").sleep, 0.02)
        assert plugin.ustx == sim.one_edit_session().final_ustx()
        portal.call(plugin.unload)
''')
    suite.runpytest().assert_outcomes(passed=1)


def test_rerecording_overwrites_the_capture_through_the_proxy(
        suite: pytest.Pytester, louder_capture: Path, tmp_path: Path) -> None:
    """The workflow: the capture is stale (recorded with a louder track), so the test fails;
    `--utau-record` against the real (here: simulated) plugin overwrites it; now it passes."""
    capture = suite.path / "captures" / "session.utpcap"
    shutil.copyfile(louder_capture, capture)
    suite.makepyfile(PLUGIN_ROLE_TEST.format(scenario="one_edit_session()"))
    suite.runpytest().assert_outcomes(failed=1)

    real_folder = tmp_path / "real" / "OpenUtau" / "PluginServers"
    with start_blocking_portal() as portal:
        plugin = portal.start_task(serve_plugin, sim.plugin_config(real_folder))[1]
        entry_before = plugin.entry_path.read_text()
        result = suite.runpytest("--utau-record", f"--utau-discovery-dir={real_folder}")
        assert plugin.entry_path.read_text() == entry_before  # restored after the recording
        assert plugin.accepted == 1  # the test reached the real plugin, through the proxy
        portal.call(plugin.unload)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*utauproxy: --utau-record: marked tests talk to the REAL peers*",
                                 "*re-recorded captures*", f"*{capture}: 1 connection(s)*"])
    with open_capture(capture) as rerecorded:
        assert "test_rerecording_overwrites" in rerecorded.header.note
        assert rerecorded.footer is not None
    assert [p.name for p in capture.parent.iterdir()] == ["session.utpcap"]  # no partial file left

    suite.runpytest().assert_outcomes(passed=1)


def test_a_failing_rerecord_leaves_the_capture_alone(suite: pytest.Pytester, tmp_path: Path) -> None:
    capture = suite.path / "captures" / "session.utpcap"
    before = capture.read_bytes()
    suite.makepyfile('''
import pytest

@pytest.mark.utau_capture("captures/session.utpcap")
def test_nobody_connects(utau_peer):
    assert utau_peer.mode == "record" and utau_peer.recording is not None

@pytest.mark.utau_capture("captures/session.utpcap")
def test_the_body_fails(utau_peer):
    assert False, "the code under test broke"
''')
    result = suite.runpytest("--utau-record", f"--utau-discovery-dir={tmp_path / 'empty'}", "-rA")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines_random([
        "*--utau-record: no connection went through the proxy*left unchanged*",
        "*AssertionError: the code under test broke*",
        "*the test did not pass: *session.utpcap was left unchanged*",
    ])
    assert capture.read_bytes() == before and len(list(capture.parent.iterdir())) == 1


def test_strict_by_default(suite: pytest.Pytester) -> None:
    """Without --utau-record a test gets a private folder, a missing capture fails, and the
    fixture refuses to run without its marker."""
    suite.makepyfile('''
import pytest
from utauproxy.discovery.paths import default_discovery_dir

@pytest.mark.utau_capture("captures/session.utpcap", connect_timeout=0.2)
def test_private_folder(utau_peer, tmp_path):
    assert utau_peer.mode == "replay" and utau_peer.recording is None
    assert utau_peer.discovery_dir != default_discovery_dir()
    assert utau_peer.discovery_dir.is_relative_to(tmp_path)
    assert utau_peer.temp_dir is not None and utau_peer.port is not None

@pytest.mark.utau_capture("captures/never-recorded.utpcap")
def test_missing_capture(utau_peer):
    pass

def test_no_marker(utau_peer):
    pass

@pytest.mark.utau_capture("captures/session.utpcap", speeed=2)
def test_typo(utau_peer):
    pass
''')
    result = suite.runpytest("-rfE")
    # The first one fails too: nobody connected to the replay, and that is reported.
    result.assert_outcomes(failed=1, errors=3)
    result.stdout.fnmatch_lines_random([
        "*plugin replay of session.utpcap: the peer could not be reached or the connection was lost",
        "*PEER ERROR: OpenUtau did not connect within 0.2 s",
        "*never-recorded.utpcap does not exist; record it against the real peer with `pytest --utau-record`*",
        "*the utau_peer fixture needs @pytest.mark.utau_capture(path, role=...)*",
        "*unknown option(s) speeed*",
    ])


def test_an_unreadable_capture_fails_setup_with_a_message(suite: pytest.Pytester) -> None:
    (suite.path / "captures" / "broken.utpcap").write_bytes(b"not a capture at all")
    suite.makepyfile('''
import pytest

@pytest.mark.utau_capture("captures/broken.utpcap")
def test_broken(utau_peer):
    pass
''')
    result = suite.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*cannot replay *broken.utpcap: *"])
    assert "Traceback" not in result.stdout.str()
