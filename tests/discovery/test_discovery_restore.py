"""The journal and `restore`: leftovers of dead recorders come back, newer plugin writes stay."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from discovery_helpers import choc_entry, file_mode

from utauproxy.discovery.entry import ParsedEntry, parse_entry, render_takeover
from utauproxy.discovery.journal import (
    Journal,
    JournalEntry,
    journal_owner_alive,
    list_journals,
    read_journal,
)
from utauproxy.discovery.restore import RestoreOutcome, restore
from utauproxy.errors import UnsafePath

ORIGINAL = choc_entry(51234, "Vocal \u3042")


def a_dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def take_over_by_hand(directory: Path, pid: int, *, journal: bool = True) -> tuple[Path, str, Path]:
    """What a recorder killed right after its rewrite leaves behind."""
    path = directory / "5f0c1c8e-3a52-4c1e-9d0b-1f2e3d4c5b6a.json"
    path.write_text(ORIGINAL)
    parsed = parse_entry(ORIGINAL)
    assert isinstance(parsed, ParsedEntry)
    written = render_takeover(parsed, ORIGINAL, proxy_port=40000, mark="recording", pid=pid)
    journal_path = directory / f".utauproxy-{pid}-0a1b2c3d.journal"
    if journal:
        lines = [
            {"op": "begin", "pid": pid, "version": 1},
            {"op": "rewrite", "file": path.name, "original": ORIGINAL, "upstream_port": 51234,
             "written": written},
        ]
        journal_path.write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"op": "rel')
        journal_path.chmod(0o600)
    path.write_text(written)
    return path, written, journal_path


def test_journal_is_private_hidden_and_locked(tmp_path: Path) -> None:
    journal = Journal.create(tmp_path)
    try:
        assert journal.path.name.startswith(f".utauproxy-{os.getpid()}-")
        assert not journal.path.name.endswith(".json") and file_mode(journal.path) == 0o600
        assert journal_owner_alive(journal.path, journal.pid)
        journal.record_rewrite(JournalEntry("a.json", "orig", 1, "ours"))
        journal.record_rewrite(JournalEntry("b.json", "orig-b", 2, "ours-b"))
        journal.record_release("b.json", "gone")
        contents = read_journal(journal.path)
        assert contents.pid == os.getpid()
        assert list(contents.entries.values()) == [JournalEntry("a.json", "orig", 1, "ours")]
    finally:
        journal.close(delete=False)
    assert not journal_owner_alive(journal.path, os.getpid())  # the lock died with the handle
    journal.path.unlink()


def test_restore_puts_back_a_dead_recorders_entry(tmp_path: Path) -> None:
    path, _, journal_path = take_over_by_hand(tmp_path, a_dead_pid())
    path.chmod(0o640)
    [action] = restore(tmp_path)
    assert action.outcome is RestoreOutcome.RESTORED and action.file == path.name
    assert path.read_text() == ORIGINAL and file_mode(path) == 0o640
    assert not journal_path.exists()
    assert "restored" in action.describe()


def test_restore_never_clobbers_a_newer_plugin_write(tmp_path: Path) -> None:
    path, _, journal_path = take_over_by_hand(tmp_path, a_dead_pid())
    newer = choc_entry(51234, "Renamed")
    path.write_text(newer)
    [action] = restore(tmp_path)
    assert action.outcome is RestoreOutcome.KEPT_NEWER
    assert path.read_text() == newer and not journal_path.exists()


def test_restore_leaves_a_deleted_entry_deleted(tmp_path: Path) -> None:
    path, _, journal_path = take_over_by_hand(tmp_path, a_dead_pid())
    path.unlink()
    [action] = restore(tmp_path)
    assert action.outcome is RestoreOutcome.LEFT_GONE
    assert not path.exists() and not journal_path.exists()


def test_restore_from_the_embedded_copy_without_a_journal(tmp_path: Path) -> None:
    path, _, _ = take_over_by_hand(tmp_path, a_dead_pid(), journal=False)
    [action] = restore(tmp_path)
    assert action.outcome is RestoreOutcome.RESTORED and path.read_text() == ORIGINAL


def test_a_running_recorder_is_left_alone_unless_forced(tmp_path: Path) -> None:
    path, written, _ = take_over_by_hand(tmp_path, os.getpid(), journal=False)
    journal = Journal.create(tmp_path)  # held open and locked: its recorder is alive
    try:
        journal.record_rewrite(JournalEntry(path.name, ORIGINAL, 51234, written))
        assert restore(tmp_path) == []
        assert path.read_text() == written
        [action] = restore(tmp_path, force=True)
        assert action.outcome is RestoreOutcome.RESTORED and path.read_text() == ORIGINAL
        assert list_journals(tmp_path) == []
    finally:
        journal.close(delete=False)


def test_the_watchdogs_call_restores_its_own_journal(tmp_path: Path) -> None:
    path, _, journal_path = take_over_by_hand(tmp_path, os.getpid())
    [action] = restore(tmp_path, journal=journal_path)
    assert action.outcome is RestoreOutcome.RESTORED and path.read_text() == ORIGINAL
    assert not journal_path.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")
def test_another_users_journal_is_not_trusted(tmp_path: Path) -> None:
    path, _, journal_path = take_over_by_hand(tmp_path, a_dead_pid(), journal=True)
    os.chown(journal_path, 54321, 54321)
    actions = restore(tmp_path)
    assert [a.outcome for a in actions if a.file == journal_path.name] == [RestoreOutcome.SKIPPED]
    assert journal_path.exists()
    # Our own entry file still carries its restore data, and its recorder is dead.
    assert path.read_text() == ORIGINAL


def test_restore_refuses_a_symlinked_folder_and_accepts_a_missing_one(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    take_over_by_hand(tmp_path / "real", a_dead_pid())
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(UnsafePath):
        restore(tmp_path / "link")
    assert restore(tmp_path / "missing") == []
