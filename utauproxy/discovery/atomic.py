"""Atomic entry writes and OpenUtau's port probe (PROTOCOL.md §1.4).

OpenUtau deletes any entry it cannot parse, so a reader must never see our file half written:
we write a temp file whose name is outside the `*.json` glob, then rename it over the entry.
"""

from __future__ import annotations

import os
import socket
import stat
import sys
from pathlib import Path

from utauproxy.discovery.safety import check_entry_stat

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC | _O_BINARY
TEMP_SUFFIX = ".utauproxy-tmp"
DEFAULT_MODE = 0o644


def temp_name_for(path: Path) -> Path:
    """`.<name>.<pid>.utauproxy-tmp` beside `path`: hidden, per process, never `*.json`."""
    return path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}")


def atomic_write_text(path: Path, text: str, *, mode: int | None = None) -> None:
    """Replace `path` with `text` (UTF-8, no BOM added, no newline added) in one rename.

    The new file gets `mode`, else the mode of the file it replaces, else 0644. A symlink at
    `path` is replaced, never followed."""
    if mode is None:
        mode = _existing_mode(path)
    temp = temp_name_for(path)
    _remove_stale(temp)
    fd = os.open(temp, _CREATE_FLAGS, 0o600)
    try:
        try:
            _write_all(fd, text.encode("utf-8"))
            if hasattr(os, "fchmod"):
                os.fchmod(fd, mode)  # exact mode: the umask must not change it
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        _remove_stale(temp)
        raise
    _fsync_dir(path.parent)


def _existing_mode(path: Path) -> int:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return DEFAULT_MODE
    check_entry_stat(st, path)
    return stat.S_IMODE(st.st_mode)


def _remove_stale(temp: Path) -> None:
    try:
        os.unlink(temp)  # unlinking a symlink removes the link itself
    except FileNotFoundError:
        pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(folder: Path) -> None:
    if sys.platform == "win32":  # pragma: no cover - folders cannot be opened for fsync there
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _O_CLOEXEC)
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on folders; the rename itself already happened
    finally:
        os.close(fd)


def port_is_live(port: int) -> bool:
    """OpenUtau's validity check (S `DawServerFinder.CheckPortUsing`, PROTOCOL.md §1.4): bind
    127.0.0.1:port without SO_REUSEADDR; failing to bind means someone listens, so the entry is
    live. Ports outside 1..65535 are never live (the .NET call throws, the entry is invalid)."""
    if not 1 <= port <= 65535:
        return False
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind(("127.0.0.1", port))
    except OSError:
        return True  # any SocketException counts as "in use" for OpenUtau too
    finally:
        probe.close()
    return False
