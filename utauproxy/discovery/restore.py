"""Putting discovery entries back (DESIGN.md §5), for the recorder, the watchdog and the CLI.

The rules, per entry we rewrote:
* the file still holds exactly what we wrote, or any utauproxy entry whose recorder is dead
  (or is the one being restored): atomically put the original back;
* the file holds the original already: nothing to do;
* the plugin wrote something newer: leave it (never clobber a newer plugin write);
* the file is gone: leave it gone (the plugin unloaded; a stale file would point at a dead port).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from utauproxy.discovery.atomic import atomic_write_text
from utauproxy.discovery.entry import ParsedEntry, decode_entry, parse_entry
from utauproxy.discovery.journal import (
    JournalEntry,
    journal_owner_alive,
    journal_pid_from_name,
    list_journals,
    pid_alive,
    read_journal,
    remove_journal,
)
from utauproxy.discovery.safety import EntryReplaced, check_dir, read_entry_bytes
from utauproxy.errors import DiscoveryError


_READ_ATTEMPTS = 3
_GONE = "the file was deleted; the plugin unloaded"
_NEWER = "the plugin rewrote it since; left as it is"


class RestoreOutcome(StrEnum):
    RESTORED = "restored"  # the original is back
    ALREADY_ORIGINAL = "already-original"  # the file held the original; nothing written
    KEPT_NEWER = "kept-newer"  # the plugin rewrote the file since; left as it is
    LEFT_GONE = "left-gone"  # the file was deleted (plugin unloaded); not recreated
    SKIPPED = "skipped"  # another live recorder owns it, or the file is unsafe to touch
    FAILED = "failed"  # writing the original failed; the journal is kept for a retry


@dataclass(frozen=True, slots=True)
class RestoreAction:
    """What was done to one entry; `describe()` is a line for the CLI."""

    file: str
    outcome: RestoreOutcome
    detail: str = ""
    journal: str | None = None

    def describe(self) -> str:
        text = f"{self.file}: {self.outcome.value}"
        return f"{text} ({self.detail})" if self.detail else text


def restore_entry(
    directory: Path, entry: JournalEntry, *, owner_pid: int | None, journal: str | None = None
) -> RestoreAction:
    """Apply the module's rules to one entry rewritten by recorder `owner_pid`."""
    path = directory / entry.file
    try:
        current = _read_text(path)
    except FileNotFoundError:
        return RestoreAction(entry.file, RestoreOutcome.LEFT_GONE, _GONE, journal)
    except DiscoveryError as error:
        return RestoreAction(entry.file, RestoreOutcome.SKIPPED, str(error), journal)
    if current == entry.original:
        return RestoreAction(entry.file, RestoreOutcome.ALREADY_ORIGINAL, "", journal)
    if current == entry.written:
        return _put_back(path, current, entry.original, journal)
    parsed = None if current is None else parse_entry(current)
    if isinstance(parsed, ParsedEntry) and parsed.embedded is not None:
        owner = parsed.embedded.pid
        if owner == owner_pid or owner is None or not pid_alive(owner):
            return _put_back(path, current, parsed.embedded.original, journal)
        detail = f"taken over by a running utauproxy (pid {owner})"
        return RestoreAction(entry.file, RestoreOutcome.SKIPPED, detail, journal)
    return RestoreAction(entry.file, RestoreOutcome.KEPT_NEWER, _NEWER, journal)


def restore(
    directory: Path, *, journal: Path | None = None, force: bool = False
) -> list[RestoreAction]:
    """Put back what dead recorders changed in `directory`, then delete their journals.

    `journal`: restore only that journal's recorder, treating it as dead (the watchdog's call).
    `force`: treat every recorder as dead (only for a user who knows none is running).
    Entries carrying an embedded `utauproxy` key of a dead recorder are restored even when no
    journal mentions them. A missing folder has nothing to restore; a symlinked or foreign one
    raises UnsafePath."""
    if not os.path.lexists(directory):
        return []
    check_dir(directory)
    actions: list[RestoreAction] = []
    handled: set[str] = set()
    only_pid = None if journal is None else journal_pid_from_name(journal)
    journals = [journal] if journal is not None else list_journals(directory)
    for path in journals:
        actions.extend(_restore_journal(directory, path, force=force or journal is not None))
    handled.update(action.file for action in actions)
    actions.extend(_restore_embedded(directory, handled, only_pid=only_pid, force=force))
    return actions


def _restore_journal(directory: Path, path: Path, *, force: bool) -> list[RestoreAction]:
    try:
        contents = read_journal(path)
    except FileNotFoundError:
        return []
    except DiscoveryError as error:
        return [RestoreAction(path.name, RestoreOutcome.SKIPPED, str(error), path.name)]
    if not force and journal_owner_alive(path, contents.pid):
        return []
    actions = [
        restore_entry(directory, entry, owner_pid=contents.pid, journal=path.name)
        for entry in contents.entries.values()
    ]
    if all(action.outcome is not RestoreOutcome.FAILED for action in actions):
        remove_journal(path)
    return actions


def _restore_embedded(
    directory: Path, handled: set[str], *, only_pid: int | None, force: bool
) -> list[RestoreAction]:
    actions = []
    for path in sorted(directory.glob("*.json")):
        if path.name in handled:
            continue
        try:
            current = _read_text(path)
        except (OSError, DiscoveryError):
            continue
        parsed = None if current is None else parse_entry(current)
        if not isinstance(parsed, ParsedEntry) or parsed.embedded is None:
            continue
        owner = parsed.embedded.pid
        if only_pid is not None and owner != only_pid:
            continue
        if only_pid is None and not force and owner is not None and pid_alive(owner):
            continue
        embedded = parsed.embedded
        stand_in = JournalEntry(path.name, embedded.original, embedded.upstream_port, current or "")
        actions.append(restore_entry(directory, stand_in, owner_pid=owner))
    return actions


def _read_text(path: Path) -> str | None:
    for _ in range(_READ_ATTEMPTS - 1):
        try:
            return _decoded(read_entry_bytes(path))
        except EntryReplaced:
            continue  # its writer renamed a new version in; read that one
    return _decoded(read_entry_bytes(path))


def _decoded(data: bytes) -> str | None:
    decoded = decode_entry(data)
    return decoded if isinstance(decoded, str) else None


def _put_back(path: Path, seen: str | None, original: str, journal: str | None) -> RestoreAction:
    def action(outcome: RestoreOutcome, detail: str = "") -> RestoreAction:
        return RestoreAction(path.name, outcome, detail, journal)

    # Re-read right before the rename: a plugin write since our read must win (§1.3).
    try:
        if _read_text(path) != seen:
            return action(RestoreOutcome.KEPT_NEWER, _NEWER)
        atomic_write_text(path, original)
    except FileNotFoundError:
        return action(RestoreOutcome.LEFT_GONE, _GONE)
    except (OSError, DiscoveryError) as error:
        return action(RestoreOutcome.FAILED, f"{type(error).__name__}: {error}")
    return action(RestoreOutcome.RESTORED)
