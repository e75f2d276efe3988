"""Where the discovery folder is, by the same rules as the real peers (PROTOCOL.md §1.1).

OpenUtau uses .NET `Path.GetTempPath()` + "OpenUtau/PluginServers"; the plugin uses C++
`std::filesystem::temp_directory_path()`. On POSIX the two read different environment
variables, so they can disagree; `temp_mismatch_warning` says when.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

DISCOVERY_SUBPATH = ("OpenUtau", "PluginServers")

# libstdc++ and libc++ read these in this order; the first one that is set wins (PROTOCOL.md §1.1).
CXX_TEMP_VARIABLES = ("TMPDIR", "TMP", "TEMP", "TEMPDIR")


def dotnet_temp_path(env: Mapping[str, str] | None = None) -> str:
    """.NET `Path.GetTempPath()`: on POSIX `$TMPDIR` when set and non-empty, else `/tmp/`,
    always with a trailing separator. On Windows the Win32 GetTempPath(2)W answer (`env` is
    then ignored: the real call reads the process environment)."""
    if sys.platform == "win32" and env is None:
        return _windows_temp_path()
    env = os.environ if env is None else env
    temp = env.get("TMPDIR") or "/tmp/"
    return temp if temp.endswith("/") else temp + "/"


def cxx_temp_path(env: Mapping[str, str] | None = None) -> str | None:
    """The POSIX C++ `temp_directory_path()`: the first of TMPDIR, TMP, TEMP, TEMPDIR that is
    set, else `/tmp`. None when the first set variable is empty (the plugin's call then fails)."""
    env = os.environ if env is None else env
    for name in CXX_TEMP_VARIABLES:
        if name in env:
            return env[name] or None
    return "/tmp"


def default_discovery_dir(env: Mapping[str, str] | None = None) -> Path:
    """The folder OpenUtau scans for plugin entries on this machine."""
    return Path(dotnet_temp_path(env)).joinpath(*DISCOVERY_SUBPATH)


def temp_mismatch_warning(env: Mapping[str, str] | None = None) -> str | None:
    """A human warning when the plugin would advertise itself in another folder than the one
    OpenUtau scans (POSIX only: on Windows both sides call GetTempPath). None when they agree."""
    if sys.platform == "win32" and env is None:
        return None
    env = os.environ if env is None else env
    openutau_temp = dotnet_temp_path(env)
    plugin_temp = cxx_temp_path(env)
    if plugin_temp is None:
        first = next(name for name in CXX_TEMP_VARIABLES if name in env)
        return (
            f"{first} is set but empty: the plugin cannot find a temp folder and will not "
            f"advertise itself; OpenUtau scans {default_discovery_dir(env)}"
        )
    if _same_folder(openutau_temp, plugin_temp):
        return None
    plugin_dir = Path(plugin_temp).joinpath(*DISCOVERY_SUBPATH)
    chosen_by = next((name for name in CXX_TEMP_VARIABLES if name in env), "the /tmp default")
    return (
        f"OpenUtau scans {default_discovery_dir(env)} (it reads only TMPDIR) but the plugin "
        f"writes to {plugin_dir} (chosen by {chosen_by}); they will not find each other. "
        f"Unset {chosen_by} or set TMPDIR to the same folder for both."
    )


def _same_folder(a: str, b: str) -> bool:
    if os.path.normpath(a) == os.path.normpath(b):
        return True
    return os.path.realpath(a) == os.path.realpath(b)


def _windows_temp_path() -> str:  # pragma: no cover - exercised on Windows only
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    # .NET 8 prefers GetTempPath2W (a per-user folder even for SYSTEM) when the OS has it.
    get_temp = getattr(kernel32, "GetTempPath2W", None) or kernel32.GetTempPathW
    buffer = ctypes.create_unicode_buffer(32768)
    length = get_temp(len(buffer), buffer)
    if length == 0:
        raise OSError("GetTempPath failed")
    return str(buffer.value)
