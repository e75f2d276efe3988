"""The discovery folder, by .NET's and the C++ runtime's temp-folder rules (PROTOCOL.md §1.1)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from utauproxy.discovery.paths import default_discovery_dir, temp_mismatch_warning

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX temp-folder rules")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "/tmp/OpenUtau/PluginServers"),
        ({"TMPDIR": ""}, "/tmp/OpenUtau/PluginServers"),  # .NET treats empty as unset
        ({"TMPDIR": "/var/folders/xy/T/"}, "/var/folders/xy/T/OpenUtau/PluginServers"),
        ({"TMPDIR": "/scratch"}, "/scratch/OpenUtau/PluginServers"),
        ({"TMP": "/elsewhere"}, "/tmp/OpenUtau/PluginServers"),  # .NET reads TMPDIR only
    ],
)
def test_openutau_folder(env: dict[str, str], expected: str) -> None:
    assert default_discovery_dir(env) == Path(expected)


@pytest.mark.parametrize(
    "env",
    [{}, {"TMPDIR": "/scratch"}, {"TMPDIR": "/scratch/", "TMP": "/other"}, {"TMP": "/tmp/"}],
)
def test_no_warning_when_both_sides_agree(env: dict[str, str]) -> None:
    assert temp_mismatch_warning(env) is None


@pytest.mark.parametrize("variable", ["TMP", "TEMP", "TEMPDIR"])
def test_warning_when_only_a_cxx_variable_is_set(variable: str) -> None:
    warning = temp_mismatch_warning({variable: "/plugin-temp"})
    assert warning is not None
    assert "/tmp/OpenUtau/PluginServers" in warning
    assert "/plugin-temp/OpenUtau/PluginServers" in warning and variable in warning


def test_warning_when_tmpdir_is_empty_but_set() -> None:
    # libstdc++ returns the empty TMPDIR and fails; .NET falls back to /tmp.
    warning = temp_mismatch_warning({"TMPDIR": "", "TMP": "/x"})
    assert warning is not None and "TMPDIR is set but empty" in warning


def test_default_uses_the_process_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert default_discovery_dir() == tmp_path / "OpenUtau" / "PluginServers"
