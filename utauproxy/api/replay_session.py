"""Replaying a capture as either peer: `utauproxy replay` as a context manager.

    with replaying("session.utpcap", role="plugin", discovery_dir=folder) as session:
        run_openutau_under_test(session.discovery_dir)     # it finds and uses the replay
    # the replay has finished; Divergence was raised if OpenUtau behaved differently

`role="plugin"`: we impersonate the plugin (publish an entry, OpenUtau connects to
`session.port`). `role="openutau"`: we impersonate OpenUtau and drive the plugin found in the
discovery folder (or at `port`), waiting for its entry if it starts inside the block.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Literal

import anyio
from anyio.abc import TaskStatus

from utauproxy.api.dual import DualContext
from utauproxy.discovery.paths import DISCOVERY_SUBPATH
from utauproxy.errors import UtauproxyError
from utauproxy.replay.as_openutau import replay_as_openutau
from utauproxy.replay.as_plugin import replay_as_plugin
from utauproxy.replay.endpoints import PublishedEntry, discovery_folder, find_plugin
from utauproxy.replay.options import ReplayOptions
from utauproxy.replay.render import render_human
from utauproxy.replay.report import ReplayReport
from utauproxy.replay.rules import parse_rules
from utauproxy.replay.run import Role, load_script
from utauproxy.replay.schedule import Pace, parse_speed
from utauproxy.replay.script import ReplayScript

_FIND_POLL = 0.05


class Divergence(UtauproxyError):
    """The live peer did not behave as recorded, or could not be reached (`report.peer_error`).

    `str()` is the human report: each divergence names the recorded message that was expected,
    what arrived instead and the differing field paths (e.g. `tracks[0].volume`)."""

    def __init__(self, report: ReplayReport) -> None:
        super().__init__(render_human(report))
        self.report = report

    @property
    def exit_code(self) -> int:
        """The exit code `utauproxy replay` would have used (1 diverged, 3 peer error)."""
        return self.report.exit_code


@dataclass
class ReplaySession:
    """A running replay, as `replaying()` yields it; `report` is set once it has finished."""

    role: Role
    capture: Path
    discovery_dir: Path
    port: int | None  # plugin role: our listener; openutau role: the plugin's, once known
    entry_path: Path | None = None  # plugin role: the discovery entry we published
    report: ReplayReport | None = None
    _done: anyio.Event = field(default_factory=anyio.Event, repr=False)

    @property
    def temp_dir(self) -> Path | None:
        """The temp folder (TMPDIR on Linux and macOS) that makes a real peer use
        `discovery_dir`; None when that folder is not `<temp>/OpenUtau/PluginServers`."""
        return temp_dir_for(self.discovery_dir)

    async def wait(self) -> ReplayReport:
        """(async use only) Wait for the replay to finish and return its report, never raising
        Divergence; exiting the block still raises it (when `check` is on)."""
        await self._done.wait()
        assert self.report is not None
        return self.report


def temp_dir_for(discovery_dir: Path) -> Path | None:
    """The temp folder whose `OpenUtau/PluginServers` is `discovery_dir`, if it is one."""
    if discovery_dir.parts[-len(DISCOVERY_SUBPATH):] == DISCOVERY_SUBPATH:
        return discovery_dir.parent.parent
    return None


def replay_options(*, discovery_dir: str | os.PathLike[str] | None = None, port: int | None = None,
                   name: str | None = None, speed: float | str | None = 1.0,
                   max_gap: float | None = None, ignore: Iterable[str] = (),
                   connections: Iterable[int] = (), fresh_ids: bool = True, timeout: float = 10.0,
                   connect_timeout: float = 30.0, save: str | os.PathLike[str] | None = None
                   ) -> ReplayOptions:
    """ReplayOptions from the same vocabulary as `utauproxy replay`'s options.

    speed: a factor (2.0 twice as fast) or `"max"`/None (as fast as causally possible).
    ignore: rule names as for `--ignore` (`"hashes"`, `"field:tracks[*].volume"`, ...).
    Raises ValueError for an unknown rule or a bad speed."""
    pace_speed = parse_speed(speed) if isinstance(speed, str) else speed
    return ReplayOptions(
        pace=Pace(pace_speed, max_gap), rules=parse_rules(ignore),
        discovery_dir=Path(discovery_dir) if discovery_dir is not None else None, port=port,
        name=name, connections=tuple(connections), fresh_ids=fresh_ids, timeout=timeout,
        connect_timeout=connect_timeout, save=Path(save) if save is not None else None)


def replaying(capture: str | os.PathLike[str], *, role: Literal["plugin", "openutau"],
              discovery_dir: str | os.PathLike[str] | None = None, port: int | None = None,
              name: str | None = None, speed: float | str | None = 1.0,
              max_gap: float | None = None, ignore: Iterable[str] = (),
              connections: Iterable[int] = (), fresh_ids: bool = True, timeout: float = 10.0,
              connect_timeout: float = 30.0, save: str | os.PathLike[str] | None = None,
              check: bool = True) -> DualContext[ReplaySession]:
    """Replay `capture` as `role` for the duration of the block.

    The capture is read on entry (CaptureError if it cannot be). On a normal exit the block
    waits for the replay to finish, sets `session.report` and, when `check` is on and the peer
    diverged or was unreachable, raises Divergence. If the block raises, the replay is
    cancelled and the block's exception propagates.

    The options are those of `utauproxy replay` (see `replay_options()`); `discovery_dir`
    defaults to OpenUtau's own folder, as with the CLI. `connect_timeout` bounds the wait for
    OpenUtau to connect (role plugin) or for a plugin entry to appear (role openutau)."""
    if role not in ("plugin", "openutau"):
        raise ValueError(f"role must be 'plugin' or 'openutau', not {role!r}")
    options = replay_options(discovery_dir=discovery_dir, port=port, name=name, speed=speed,
                             max_gap=max_gap, ignore=ignore, connections=connections,
                             fresh_ids=fresh_ids, timeout=timeout,
                             connect_timeout=connect_timeout, save=save)
    return replaying_with(capture, role, options, check=check)


def replaying_with(capture: str | os.PathLike[str], role: Role, options: ReplayOptions, *,
                   check: bool = True) -> DualContext[ReplaySession]:
    """`replaying()` with ready-made ReplayOptions."""
    return DualContext(partial(_replay, Path(capture), role, options, check))


@asynccontextmanager
async def _replay(path: Path, role: Role, options: ReplayOptions, check: bool
                  ) -> AsyncIterator[ReplaySession]:
    script, damage = load_script(path)
    session = ReplaySession(role, path, discovery_folder(options.discovery_dir), options.port)
    failure: BaseException | None = None
    async with anyio.create_task_group() as tasks:
        if role == "plugin":
            entry: PublishedEntry = await tasks.start(_as_plugin, script, damage, options, session)
            session.port, session.entry_path = entry.port, entry.path
        else:
            tasks.start_soon(_as_openutau, script, damage, options, session)
        try:
            yield session
        except BaseException as exc:  # re-raised below as it is, not in an exception group
            failure = exc
            tasks.cancel_scope.cancel()
    if failure is not None:
        raise failure
    report = session.report
    assert report is not None
    if check and report.exit_code:
        raise Divergence(report)


def _finished(session: ReplaySession, report: ReplayReport, script: ReplayScript,
              damage: list[str]) -> None:
    """Publish the report, with the notes `utauproxy replay` adds about the capture itself."""
    report.notes[:0] = damage
    if script.skipped_connections:
        report.notes.append("recorded connections without messages, not replayed: "
                            + ", ".join(map(str, script.skipped_connections)))
    session.report = report
    session._done.set()


async def _as_plugin(script: ReplayScript, damage: list[str], options: ReplayOptions,
                     session: ReplaySession, *,
                     task_status: TaskStatus[PublishedEntry] = anyio.TASK_STATUS_IGNORED) -> None:
    report = await replay_as_plugin(script, options, capture_name=str(session.capture),
                                    task_status=task_status)
    _finished(session, report, script, damage)


async def _as_openutau(script: ReplayScript, damage: list[str], options: ReplayOptions,
                       session: ReplaySession) -> None:
    if options.port is None:
        session.port = await _wait_for_plugin(session.discovery_dir, options.connect_timeout)
    if session.port is None:
        report = ReplayReport("openutau", str(session.capture), rules=options.rules.describe())
        report.peer_error = (f"no live plugin entry appeared in {session.discovery_dir} "
                             f"within {options.connect_timeout:g} s")
    else:
        report = await replay_as_openutau(script, replace(options, port=session.port),
                                          capture_name=str(session.capture))
    _finished(session, report, script, damage)


async def _wait_for_plugin(folder: Path, timeout: float) -> int | None:
    """The port of the first live plugin entry in `folder`, waiting for one to appear (the
    plugin under test may start after the replay)."""
    with anyio.move_on_after(timeout):
        while True:
            found = find_plugin(folder) if folder.is_dir() else None
            if found is not None:
                return found.port
            await anyio.sleep(_FIND_POLL)
    return None
