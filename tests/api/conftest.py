"""Captures of the simulated peers, recorded once per test session through the API itself."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from . import utau_sim as sim


@pytest.fixture(scope="session")
def session_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short P6 session of the simulated OpenUtau and plugin."""
    folder = tmp_path_factory.mktemp("session-capture")
    capture = folder / "session.utpcap"
    anyio.run(sim.record_capture, capture, folder / "OpenUtau" / "PluginServers", sim.one_edit_session())
    return capture


@pytest.fixture(scope="session")
def louder_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same session, recorded while OpenUtau had the first track 3 dB louder."""
    folder = tmp_path_factory.mktemp("louder-capture")
    capture = folder / "louder.utpcap"
    scenario = sim.with_track_volume_change(sim.one_edit_session(), 3.0)
    anyio.run(sim.record_capture, capture, folder / "OpenUtau" / "PluginServers", scenario)
    return capture
