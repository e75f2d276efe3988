"""The takeover's state machine: one poll of the folder at a time (see takeover.py for the
rules). Sync file work runs in worker threads; the hooks run in the caller's event loop."""

from __future__ import annotations

import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial
from enum import Enum
from pathlib import Path
from typing import Any

import anyio

from utauproxy.discovery.atomic import atomic_write_text, port_is_live
from utauproxy.discovery.entry import ParsedEntry, render_takeover
from utauproxy.discovery.folder import SeenFile, look_at, look_at_folder
from utauproxy.discovery.journal import Journal, JournalEntry, pid_alive
from utauproxy.discovery.live import ListenerHooks, LiveEntry
from utauproxy.discovery.restore import RestoreAction, RestoreOutcome, restore_entry
from utauproxy.errors import DiscoveryError
from utauproxy.records import DiscoveryEvent

# Our entry embeds the original, escaped: this keeps it well under safety.MAX_ENTRY_BYTES.
MAX_ORIGINAL_CHARS = 8 * 1024
# A failed rewrite of the same content is retried this often (Windows sharing violations pass).
MAX_ATTEMPTS = 3
# Dead entries are probed again about once a second, not every poll: the probe briefly holds
# the port, and a stale file's port may belong to someone else's program.
DEAD_RECHECK_SECONDS = 1.0
HOOK_CLOSE_TIMEOUT = 5.0


@dataclass(slots=True)
class Tracked:
    """An entry pointed at our listener."""

    entry: LiveEntry
    original: str  # the plugin's text we replaced
    written: str  # our text

    def journal_entry(self) -> JournalEntry:
        return JournalEntry(self.entry.file, self.original, self.entry.upstream_port, self.written)


@dataclass(slots=True)
class _Untracked:
    """A file we are not proxying: dead port, failed takeover, or another recorder's."""

    text: str | None
    checked_at: float
    attempts: int = 0


@dataclass(slots=True)
class _Problem:
    key: str
    since: float
    reported: bool = False


class _Commit(Enum):
    DONE = "done"
    CHANGED = "changed"  # the file changed under us: look again next poll
    FAILED = "failed"  # reported as ERROR; retried up to MAX_ATTEMPTS times per content


class _ChangedMeanwhile(Exception):
    """The file changed between our read and our rewrite; look again next poll."""


class FolderTakeover:
    """What we know about each entry file, and what to do when it changes."""

    def __init__(
        self,
        directory: Path,
        hooks: ListenerHooks,
        journal: Journal,
        *,
        mark: str,
        emit: Callable[[DiscoveryEvent, dict[str, Any]], None],
        unreadable_grace: float,
    ) -> None:
        self.directory = directory
        self.hooks = hooks
        self.journal = journal
        self.mark = mark
        self.emit = emit
        self.unreadable_grace = unreadable_grace
        self.pid = os.getpid()
        self.session = secrets.token_hex(8)
        self.tracked: dict[str, Tracked] = {}
        self.untracked: dict[str, _Untracked] = {}
        self.problems: dict[str, _Problem] = {}

    # -- one poll ---------------------------------------------------------------------------

    async def poll(self) -> None:
        seen = await anyio.to_thread.run_sync(look_at_folder, self.directory)
        for name in [name for name in self.tracked if name not in seen]:
            await self._release(name, DiscoveryEvent.GONE, "the file was deleted")
        for table in (self.untracked, self.problems):
            for name in [name for name in table if name not in seen]:
                del table[name]
        for name, found in seen.items():
            if name in self.tracked:
                await self._check_tracked(self.tracked[name], found)
            else:
                await self._check_untracked(found)

    async def _check_untracked(self, found: SeenFile) -> None:
        if found.refused is not None:
            self._problem(found.file, found.refused, immediate=True)
            return
        parsed = found.parsed
        if parsed is None or found.text is None:
            self._problem(found.file, "unreadable", detail=found.unreadable)
            return
        if parsed.embedded is None:
            self.problems.pop(found.file, None)
        if not self._worth_a_look(found):
            return
        if parsed.embedded is not None:
            await self._someone_elses(found, parsed)
        elif self._live(found, parsed):
            await self._take_over(found.file, found.text, parsed)

    def _worth_a_look(self, found: SeenFile) -> bool:
        """New content always; failed content a few times; dead entries now and then."""
        state = self.untracked.get(found.file)
        if state is None or state.text != found.text:
            return True
        if state.attempts:
            return state.attempts < MAX_ATTEMPTS
        return anyio.current_time() - state.checked_at >= DEAD_RECHECK_SECONDS

    def _live(self, found: SeenFile, parsed: ParsedEntry) -> bool:
        if port_is_live(parsed.port):
            return True
        self.untracked[found.file] = _Untracked(found.text, anyio.current_time())
        return False

    async def _someone_elses(self, found: SeenFile, parsed: ParsedEntry) -> None:
        embedded = parsed.embedded
        assert embedded is not None and found.text is not None
        owner = embedded.pid
        if embedded.session != self.session and owner is not None and pid_alive(owner):
            reason = f"taken over by another running utauproxy (pid {owner})"
            self._problem(found.file, reason, immediate=True)
            return
        # A leftover of a dead recorder (or of an interrupted step of ours): put it back first;
        # the next poll takes the plugin's own entry over.
        stand_in = JournalEntry(found.file, embedded.original, embedded.upstream_port, found.text)
        action = await anyio.to_thread.run_sync(
            partial(restore_entry, self.directory, stand_in, owner_pid=owner)
        )
        self._emit_restored(action, leftover=True)
        if action.outcome is not RestoreOutcome.RESTORED:
            self._count_attempt(found.file, found.text)

    async def _check_tracked(self, tracked: Tracked, found: SeenFile) -> None:
        name = tracked.entry.file
        if found.refused is not None:
            self._problem(name, found.refused, immediate=True)
            await self._release(name, DiscoveryEvent.GONE, f"no longer safe: {found.refused}")
            return
        if found.text == tracked.written:
            self.problems.pop(name, None)
            return
        parsed = found.parsed
        if parsed is None or found.text is None:
            # The plugin is mid-rewrite (§1.3): look again next poll, never touch it now.
            self._problem(name, "unreadable", detail=found.unreadable)
            return
        self.problems.pop(name, None)
        if parsed.embedded is not None:
            if parsed.embedded.session != self.session:
                reason = f"another utauproxy (pid {parsed.embedded.pid}) rewrote our entry"
                self.emit(DiscoveryEvent.ERROR, {**tracked.entry.as_record(), "reason": reason})
                await self._release(name, DiscoveryEvent.GONE, "taken by another utauproxy")
            return
        await self._follow_plugin_rewrite(tracked, found.text, parsed)

    async def _follow_plugin_rewrite(
        self, tracked: Tracked, text: str, parsed: ParsedEntry
    ) -> None:
        name = tracked.entry.file
        if not port_is_live(parsed.port):
            reason = f"the plugin now advertises port {parsed.port}, where nobody listens"
            await self._release(name, DiscoveryEvent.GONE, reason)
            self.untracked[name] = _Untracked(text, anyio.current_time())
            return
        previous = tracked.entry
        tracked.entry = replace(LiveEntry.from_parsed(name, parsed), proxy_port=previous.proxy_port)
        self.emit(DiscoveryEvent.RENAMED, {
            **tracked.entry.as_record(),
            "previous_name": previous.name,
            "previous_upstream_port": previous.upstream_port,
        })
        await self._call_hook("update_upstream", self.hooks.update_upstream, tracked.entry)
        tracked.original, tracked.written = text, self._render(tracked.entry, text, parsed)
        if await self._commit(tracked) is _Commit.FAILED:
            await self._release(name, DiscoveryEvent.GONE, "could not rewrite the entry")

    # -- taking over, releasing -------------------------------------------------------------

    async def _take_over(self, name: str, text: str, parsed: ParsedEntry) -> None:
        if len(text) > MAX_ORIGINAL_CHARS:
            self._problem(name, f"too large to take over ({len(text)} characters)", immediate=True)
            return
        entry = LiveEntry.from_parsed(name, parsed)
        self.emit(DiscoveryEvent.FOUND, entry.as_record())
        try:
            proxy_port = await self.hooks.open_listener(entry)
        except Exception as error:
            self._failed(name, text, entry, f"open_listener failed: {error!r}")
            return
        entry = replace(entry, proxy_port=proxy_port)
        # Tracked before the write: if we are cancelled mid-write, the exit path still restores
        # it and closes its listener (the restore rules cope with a write that never happened).
        tracked = self.tracked[name] = Tracked(entry, text, self._render(entry, text, parsed))
        if await self._commit(tracked) is _Commit.DONE:
            self.untracked.pop(name, None)
            return
        del self.tracked[name]
        await self._call_hook("close_listener", self.hooks.close_listener, entry)

    def _render(self, entry: LiveEntry, original: str, parsed: ParsedEntry) -> str:
        assert entry.proxy_port is not None
        return render_takeover(
            parsed,
            original,
            proxy_port=entry.proxy_port,
            mark=self.mark,
            pid=self.pid,
            session=self.session,
        )

    async def _commit(self, tracked: Tracked) -> _Commit:
        """Journal, then atomically point the file at our listener."""
        record = tracked.journal_entry()
        try:
            await anyio.to_thread.run_sync(self._journal_and_write, record)
        except _ChangedMeanwhile:
            return _Commit.CHANGED
        except (OSError, DiscoveryError) as error:
            self._failed(record.file, record.original, tracked.entry, f"rewrite failed: {error}")
            return _Commit.FAILED
        self.emit(DiscoveryEvent.REWRITTEN, tracked.entry.as_record())
        return _Commit.DONE

    def _journal_and_write(self, record: JournalEntry) -> None:
        self.journal.record_rewrite(record)
        try:
            # Narrow the race with the plugin's in-place rewrite: re-read just before renaming.
            now = look_at(self.directory, record.file)
            if now is None or now.text != record.original:
                raise _ChangedMeanwhile
            atomic_write_text(self.directory / record.file, record.written)
        except BaseException:
            self.journal.record_release(record.file, "not rewritten")
            raise

    async def _release(self, name: str, event: DiscoveryEvent, reason: str) -> None:
        tracked = self.tracked.pop(name)
        self.emit(event, {**tracked.entry.as_record(), "reason": reason})
        await anyio.to_thread.run_sync(self.journal.record_release, name, reason)
        await self._call_hook("close_listener", self.hooks.close_listener, tracked.entry)

    async def restore_all(self, linger: float) -> bool:
        """Put every entry back, wait `linger` seconds, then close the listeners. True when
        nothing failed. The wait is for a scan that read our entry just before the restore:
        OpenUtau reads, then probes (PROTOCOL.md §1.4), and a probe that binds deletes the
        file, which by then holds the plugin's restored entry."""
        all_ok = True
        for tracked in list(self.tracked.values()):
            action = await anyio.to_thread.run_sync(
                partial(restore_entry, self.directory, tracked.journal_entry(), owner_pid=self.pid)
            )
            self._emit_restored(action, entry=tracked.entry)
            if action.outcome is RestoreOutcome.FAILED:
                all_ok = False
        if self.tracked:
            await anyio.sleep(linger)
        for tracked in list(self.tracked.values()):
            with anyio.move_on_after(HOOK_CLOSE_TIMEOUT):
                await self._call_hook("close_listener", self.hooks.close_listener, tracked.entry)
        self.tracked.clear()
        return all_ok

    # -- reporting --------------------------------------------------------------------------

    def _count_attempt(self, name: str, text: str) -> int:
        state = self.untracked.get(name)
        attempts = state.attempts + 1 if state is not None and state.text == text else 1
        self.untracked[name] = _Untracked(text, anyio.current_time(), attempts)
        return attempts

    def _failed(self, name: str, text: str, entry: LiveEntry, reason: str) -> None:
        attempts = self._count_attempt(name, text)
        record = {**entry.as_record(), "reason": reason, "attempt": attempts}
        self.emit(DiscoveryEvent.ERROR, record)

    def _problem(
        self, name: str, key: str, *, immediate: bool = False, detail: str | None = None
    ) -> None:
        """REFUSED once per file and reason; unreadable files only after the grace period."""
        now = anyio.current_time()
        problem = self.problems.get(name)
        if problem is None or problem.key != key:
            problem = self.problems[name] = _Problem(key, now)
        if problem.reported or not (immediate or now - problem.since >= self.unreadable_grace):
            return
        problem.reported = True
        entry: dict[str, Any] = {"file": name, "reason": key}
        if detail:
            entry["detail"] = detail
        self.emit(DiscoveryEvent.REFUSED, entry)

    def _emit_restored(
        self, action: RestoreAction, *, entry: LiveEntry | None = None, leftover: bool = False
    ) -> None:
        record: dict[str, Any] = entry.as_record() if entry else {"file": action.file}
        record.update(outcome=action.outcome.value, detail=action.detail)
        if leftover:
            record["leftover"] = True
        self.emit(DiscoveryEvent.RESTORED, record)

    async def _call_hook(
        self, what: str, hook: Callable[[LiveEntry], Awaitable[object]], entry: LiveEntry
    ) -> None:
        # A failing hook is reported, not fatal: the other entries still need us.
        try:
            await hook(entry)
        except Exception as error:
            reason = f"{what} failed: {error!r}"
            self.emit(DiscoveryEvent.ERROR, {**entry.as_record(), "reason": reason})
