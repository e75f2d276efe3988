"""The takeover journal: what a recorder changed, on disk before each change (DESIGN.md §5).

One file per recorder, `<dir>/.utauproxy-<pid>-<random>.journal` (hidden and outside the
`*.json` glob OpenUtau scans), created 0600 with O_EXCL|O_NOFOLLOW. It holds JSON lines,
each appended and fsync'd before the rewrite it describes:

    {"op": "begin", "pid": 1234, "version": 1}
    {"op": "rewrite", "file": "<uuid>.json", "original": "…", "upstream_port": N, "written": "…"}
    {"op": "release", "file": "<uuid>.json", "reason": "..."}

The last `rewrite` of a file wins; a later `release` means nothing is left to undo for it.
While the recorder lives it holds an exclusive flock on its journal (POSIX), so "is the owner
alive?" does not depend on pid reuse; without flock (Windows) the pid is checked.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from utauproxy.discovery.safety import check_entry_stat, read_entry_bytes
from utauproxy.errors import DiscoveryError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

JOURNAL_VERSION = 1
JOURNAL_GLOB = ".utauproxy-*.journal"
_JOURNAL_NAME = re.compile(r"^\.utauproxy-(\d+)(?:-[0-9a-f]+)?\.journal$")
# A journal line holds at most two ~64 KiB entries; thousands of renames still fit.
MAX_JOURNAL_BYTES = 64 * 1024 * 1024
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """What to undo for one file: the plugin's text we replaced and the text we wrote."""

    file: str
    original: str
    upstream_port: int
    written: str


@dataclass(slots=True)
class JournalContents:
    path: Path
    pid: int | None
    entries: dict[str, JournalEntry] = field(default_factory=dict)


class Journal:
    """The open journal of the running recorder (the writer side)."""

    def __init__(self, path: Path, fd: int, pid: int) -> None:
        self.path = path
        self.pid = pid
        self._fd: int | None = fd

    @classmethod
    def create(cls, directory: Path) -> Journal:
        """Create and lock a new journal in `directory` for this process."""
        pid = os.getpid()
        path = directory / f".utauproxy-{pid}-{secrets.token_hex(4)}.journal"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | _O_NOFOLLOW | _O_CLOEXEC
        fd = os.open(path, flags | _O_BINARY, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            journal = cls(path, fd, pid)
            journal._append({"op": "begin", "pid": pid, "version": JOURNAL_VERSION})
        except BaseException:
            os.close(fd)
            os.unlink(path)
            raise
        return journal

    def record_rewrite(self, entry: JournalEntry) -> None:
        """Durably note a rewrite; call before writing the entry file."""
        self._append(
            {
                "op": "rewrite",
                "file": entry.file,
                "original": entry.original,
                "upstream_port": entry.upstream_port,
                "written": entry.written,
            }
        )

    def record_release(self, file: str, reason: str) -> None:
        """Note that nothing is left to undo for `file`."""
        self._append({"op": "release", "file": file, "reason": reason})

    def close(self, *, delete: bool) -> None:
        """Release the lock; delete the file only when everything was put back."""
        if self._fd is None:
            return
        if delete:
            _unlink_quietly(self.path)
        os.close(self._fd)
        self._fd = None

    def _append(self, item: dict[str, Any]) -> None:
        if self._fd is None:
            raise DiscoveryError(f"journal {self.path} is closed")
        line = (json.dumps(item, ensure_ascii=True) + "\n").encode("ascii")
        view = memoryview(line)
        while view:
            view = view[os.write(self._fd, view) :]
        os.fsync(self._fd)


def journal_pid_from_name(path: Path) -> int | None:
    """The recorder pid encoded in a journal's file name."""
    match = _JOURNAL_NAME.match(path.name)
    return int(match.group(1)) if match else None


def list_journals(directory: Path) -> list[Path]:
    """Journal files in `directory` (symlinks and other users' files included: the reader
    refuses them)."""
    return sorted(p for p in directory.glob(JOURNAL_GLOB) if _JOURNAL_NAME.match(p.name))


def read_journal(path: Path) -> JournalContents:
    """Parse a journal, tolerating a torn last line (the recorder died mid-append)."""
    data = read_entry_bytes(path, limit=MAX_JOURNAL_BYTES)
    contents = JournalContents(path=path, pid=journal_pid_from_name(path))
    for line in data.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            _apply(contents, item)
    return contents


def _apply(contents: JournalContents, item: dict[str, Any]) -> None:
    op, file = item.get("op"), item.get("file")
    if op == "begin" and isinstance(item.get("pid"), int):
        contents.pid = item["pid"]
    elif op == "rewrite" and isinstance(file, str) and _valid_rewrite(item):
        contents.entries[file] = JournalEntry(
            file=file,
            original=item["original"],
            upstream_port=item["upstream_port"],
            written=item["written"],
        )
    elif op == "release" and isinstance(file, str):
        contents.entries.pop(file, None)


def _valid_rewrite(item: dict[str, Any]) -> bool:
    return (
        isinstance(item.get("original"), str)
        and isinstance(item.get("written"), str)
        and isinstance(item.get("upstream_port"), int)
        and "/" not in item["file"]
        and "\\" not in item["file"]
    )


def journal_owner_alive(path: Path, pid: int | None) -> bool:
    """Whether the recorder that wrote `path` still runs (it holds the journal's lock)."""
    if fcntl is None:  # pragma: no cover - Windows
        return pid is not None and pid_alive(pid)
    try:
        fd = os.open(path, os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        check_entry_stat(os.fstat(fd), path)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (a zombie counts as alive)."""
    if pid <= 0:
        return False
    if os.name == "nt":  # pragma: no cover - Windows
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _windows_pid_alive(pid: int) -> bool:  # pragma: no cover - Windows
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return False
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def remove_journal(path: Path) -> None:
    """Delete a journal that has been fully restored (not a symlink: unlink never follows)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISREG(st.st_mode):
        _unlink_quietly(path)
