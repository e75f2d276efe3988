"""Refuse what we must not touch in the discovery folder (DESIGN.md §5).

The folder is usually under a shared `/tmp`, so another user can plant symlinks, FIFOs or huge
files there. We never follow a symlink, never touch a folder or file owned by another user
(POSIX), never block on a special file and never read more than `MAX_ENTRY_BYTES`.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from utauproxy.errors import DiscoveryError, UnsafePath

# Real entries are ~60 bytes; ours embed the original and stay far below this.
MAX_ENTRY_BYTES = 64 * 1024

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO named x.json must not hang the open
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)
READ_FLAGS = os.O_RDONLY | _O_NOFOLLOW | _O_NONBLOCK | _O_CLOEXEC | _O_BINARY


class EntryTooLarge(DiscoveryError):
    """An entry file is larger than we are willing to read."""


class EntryReplaced(DiscoveryError):
    """The file was replaced between our checks and our read (an atomic rename by its writer:
    the v1.2 bridge writes that way). Not unsafe: read it again."""


def _current_uid() -> int | None:
    geteuid = getattr(os, "geteuid", None)
    return None if geteuid is None else int(geteuid())


def check_owner(st: os.stat_result, path: Path) -> None:
    """Raise UnsafePath when `st` belongs to another user (POSIX only)."""
    uid = _current_uid()
    if uid is not None and st.st_uid != uid:
        raise UnsafePath(f"{path} is owned by uid {st.st_uid}, not by us (uid {uid})")


def check_dir(path: Path) -> os.stat_result:
    """Make sure `path` is a real folder of ours: not a symlink, not another user's."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise DiscoveryError(f"{path} does not exist") from None
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePath(f"{path} is a symlink; refusing to follow it")
    if not stat.S_ISDIR(st.st_mode):
        raise DiscoveryError(f"{path} is not a folder")
    check_owner(st, path)
    return st


def check_entry_stat(st: os.stat_result, path: Path) -> None:
    """Refuse symlinks, special files and other users' files."""
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePath(f"{path.name} is a symlink; refusing to follow it")
    if not stat.S_ISREG(st.st_mode):
        raise UnsafePath(f"{path.name} is not a regular file")
    check_owner(st, path)


def read_entry_bytes(path: Path, limit: int = MAX_ENTRY_BYTES) -> bytes:
    """The content of a discovery file, read without following symlinks.

    Raises FileNotFoundError when it is gone, UnsafePath when it must not be touched,
    EntryTooLarge past `limit` bytes and EntryReplaced when it changed under us."""
    before = os.lstat(path)
    check_entry_stat(before, path)
    if before.st_size > limit:
        raise EntryTooLarge(f"{path.name} is {before.st_size} bytes (limit {limit})")
    try:
        fd = os.open(path, READ_FLAGS)
    except OSError as error:
        if error.errno == errno.ELOOP:  # it became a symlink between lstat and open
            raise UnsafePath(f"{path.name} is a symlink; refusing to follow it") from error
        raise
    try:
        opened = os.fstat(fd)
        check_entry_stat(opened, path)
        if (opened.st_dev, opened.st_ino) != (before.st_dev, before.st_ino):
            raise EntryReplaced(f"{path.name} was replaced while we opened it")
        return _read_bounded(fd, limit, path)
    finally:
        os.close(fd)


def _read_bounded(fd: int, limit: int, path: Path) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = os.read(fd, limit + 1 - total)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise EntryTooLarge(f"{path.name} grew past {limit} bytes")
