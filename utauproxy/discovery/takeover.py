"""The discovery takeover: point every live plugin entry at our listeners, follow the folder,
and put everything back on the way out (DESIGN.md §5, PROTOCOL.md §1.3, §1.4, §6.7).

Rules, and the peer behaviour that forces them:
* An entry is live when its port is in use (OpenUtau's own bind probe, §1.4). Entries that carry
  our `utauproxy` key are not plugins.
* The listener is bound before the entry points at it, and kept while the entry exists:
  OpenUtau deletes an entry whose port it can bind (§1.4).
* Journal first, then an atomic rewrite: OpenUtau deletes a file it cannot parse (§1.4).
* The plugin rewrites its file in place (truncate, then write) on every name change (§1.3):
  an empty or half-written file is read again on the next polls, never acted on, never deleted.
  Once it parses, the new name/port is taken over again (RENAMED).
* On every exit, even cancellation: restore each entry (never clobbering a newer plugin
  write), then close its listener. A watchdog process covers `kill -9`.

Events reach `on_event` as DiscoveryRecords stamped by `clock` (ts_ns=0 without one: the caller
then restamps them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import TaskStatus

from utauproxy.discovery.follow import FolderTakeover, Tracked
from utauproxy.discovery.journal import Journal
from utauproxy.discovery.live import ListenerHooks, LiveEntry
from utauproxy.discovery.restore import RestoreOutcome, restore
from utauproxy.discovery.safety import check_dir
from utauproxy.discovery.watchdog import Watchdog, start_watchdog
from utauproxy.records import DiscoveryEvent, DiscoveryRecord


@dataclass
class TakeoverHandle:
    """What `run_takeover` hands to `task_status.started()`."""

    directory: Path
    journal_path: Path
    watchdog_pid: int | None
    _tracked: dict[str, Tracked] = field(repr=False)

    @property
    def entries(self) -> list[LiveEntry]:
        """The entries currently pointed at our listeners."""
        return [tracked.entry for tracked in self._tracked.values()]


async def run_takeover(
    directory: Path,
    hooks: ListenerHooks,
    *,
    on_event: Callable[[DiscoveryRecord], None],
    mark: str = "recording",
    poll_interval: float = 0.1,
    clock: Callable[[], int] | None = None,
    watchdog: bool = True,
    unreadable_grace: float = 1.0,
    linger: float = 0.5,
    task_status: TaskStatus[TakeoverHandle] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Take over every live plugin entry in `directory` until cancelled; restore on exit.

    Calls `task_status.started(handle)` once the first scan has taken over every live entry.
    Raises UnsafePath/DiscoveryError (before started) when the folder must not be used.
    `mark` goes into the entry's display name, `Vocal (recording)`. `watchdog=False` skips the
    process that restores after `kill -9`. A file that stays unparseable for `unreadable_grace`
    seconds is reported (REFUSED) once; it is never touched. On exit, listeners stay bound
    `linger` seconds after their entries are restored (see FolderTakeover.restore_all).
    """
    directory = Path(directory)

    def emit(event: DiscoveryEvent, entry: dict[str, Any]) -> None:
        on_event(DiscoveryRecord(ts_ns=clock() if clock else 0, event=event, entry=entry))

    await anyio.to_thread.run_sync(_prepare_folder, directory)
    for action in await anyio.to_thread.run_sync(restore, directory):
        if action.outcome is RestoreOutcome.ALREADY_ORIGINAL:
            continue
        record = {"file": action.file, "outcome": action.outcome.value, "detail": action.detail}
        emit(DiscoveryEvent.RESTORED, {**record, "leftover": True})
    journal = await anyio.to_thread.run_sync(Journal.create, directory)
    guard: Watchdog | None = None
    takeover = FolderTakeover(
        directory, hooks, journal, mark=mark, emit=emit, unreadable_grace=unreadable_grace
    )
    try:
        if watchdog:
            guard = await anyio.to_thread.run_sync(start_watchdog, directory, journal.path)
        await takeover.poll()
        task_status.started(
            TakeoverHandle(directory, journal.path, guard.pid if guard else None, takeover.tracked)
        )
        while True:
            await anyio.sleep(poll_interval)
            await takeover.poll()
    finally:
        with anyio.CancelScope(shield=True):
            await _shut_down(takeover, journal, guard, linger)


async def _shut_down(
    takeover: FolderTakeover, journal: Journal, guard: Watchdog | None, linger: float
) -> None:
    all_ok = await takeover.restore_all(linger)
    journal.close(delete=all_ok)
    if guard is not None:
        # On failure the watchdog gets its turn: it retries the journal we kept.
        await anyio.to_thread.run_sync(guard.disarm if all_ok else guard.trigger)


def _prepare_folder(directory: Path) -> None:
    # The plugin creates it too (`create_directories`, PROTOCOL.md §1.1); we may come first.
    directory.mkdir(parents=True, exist_ok=True)
    check_dir(directory)
