"""pytest plugin (entry point `pytest11: utauproxy`): captures as regression-test fixtures.

    @pytest.mark.utau_capture("captures/open-project.utpcap", role="plugin")
    def test_openutau_opens_a_project(utau_peer):
        run_my_openutau(plugin_folder=utau_peer.discovery_dir)

By default the fixture replays the capture as `role` for the duration of the test, in a
private discovery folder, and fails the test with the divergence report when the code under
test does not behave as recorded. A test never reaches a real peer unless it is asked:
`pytest --utau-record` instead runs the recorder in the real discovery folder (or
`--utau-discovery-dir`) while the test talks to the real peers through it, then overwrites the
capture. docs/pytest-plugin.md is the user's guide.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import pytest

if TYPE_CHECKING:
    from utauproxy.api import DualContext, Recording, ReplaySession

T = TypeVar("T")
MARKER = "utau_capture"
FIXTURE = "utau_peer"
Role = Literal["plugin", "openutau"]
# Keywords of the marker that are passed on to `utauproxy.replaying()`.
REPLAY_KEYWORDS = frozenset({"port", "name", "speed", "max_gap", "ignore", "connections",
                             "fresh_ids", "timeout", "connect_timeout"})
# Tests wait for their peer; the CLI's minutes-long defaults would only slow a failing run.
TEST_DEFAULTS: dict[str, Any] = {"timeout": 10.0, "connect_timeout": 10.0}


@dataclass
class UtauPeer:
    """What the `utau_peer` fixture gives a test: where to find the peer it talks to."""

    mode: Literal["replay", "record"]
    role: Role  # the peer the capture plays: "plugin" tests OpenUtau, "openutau" tests a plugin
    capture: Path
    discovery_dir: Path  # point the code under test here (replay: a private folder)
    replay: ReplaySession | None = None  # replay mode only
    recording: Recording | None = None  # record mode only

    @property
    def port(self) -> int | None:
        """Replay as plugin: the port to connect to. Otherwise the plugin's port once known,
        or None (record mode: the proxy has one port per plugin entry, see `recording`)."""
        return self.replay.port if self.replay is not None else None

    @property
    def temp_dir(self) -> Path | None:
        """The TMPDIR that makes a real OpenUtau or plugin use `discovery_dir`, when it is a
        `<temp>/OpenUtau/PluginServers` folder (the private replay folder always is)."""
        from utauproxy.api.replay_session import temp_dir_for

        return temp_dir_for(self.discovery_dir)


@dataclass(frozen=True)
class CaptureMarker:
    """The `utau_capture` marker of one test, validated."""

    capture: Path
    role: Role
    discovery_dir: Path | None
    replay_kwargs: dict[str, Any] = field(default_factory=dict)


class _TestEnded(Exception):
    """Passed into a running replay or recording to cancel it when the test did not pass."""


_RUN = pytest.StashKey["_PeerRun"]()
_RERECORDED = pytest.StashKey[list[str]]()


# -- configuration -----------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("utauproxy", "utauproxy capture replay")
    group.addoption("--utau-record", action="store_true", default=False,
                    help="Re-record the captures of tests marked utau_capture: run each test "
                         "against the real peers through the recording proxy and overwrite its "
                         "capture (default: replay them; never reach a real peer).")
    group.addoption("--utau-discovery-dir", default=None, metavar="DIR",
                    help="With --utau-record: the discovery folder of the real peers (default: "
                         "the marker's discovery_dir, else OpenUtau's <temp>/OpenUtau/PluginServers).")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(path, role='plugin', **options): replay the capture at `path` (relative to "
        "the test file) as 'plugin' or 'openutau' for the test, through the utau_peer fixture; "
        "options as utauproxy.replaying() (speed, ignore, timeout, connect_timeout, ...).")
    config.stash[_RERECORDED] = []


def pytest_report_header(config: pytest.Config) -> str | None:
    if not config.getoption("--utau-record"):
        return None
    where = config.getoption("--utau-discovery-dir") or "the markers' or OpenUtau's default folder"
    return (f"utauproxy: --utau-record: marked tests talk to the REAL peers in {where} and "
            "overwrite their captures")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    rerecorded = terminalreporter.config.stash.get(_RERECORDED, [])
    if rerecorded:
        terminalreporter.section("utauproxy: re-recorded captures")
        for line in rerecorded:
            terminalreporter.write_line(line)


# -- the fixture and the hook that judges the test ---------------------------------------------


@pytest.fixture
def utau_peer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UtauPeer]:
    """The peer of a test marked `utau_capture`: a replay of the capture (default), or the
    real peers behind the recording proxy (`--utau-record`). The test fails if the code under
    test diverged from the capture; see docs/pytest-plugin.md."""
    marker = read_marker(request.node)
    if request.config.getoption("--utau-record"):
        run: _PeerRun = _RecordRun.start(request, marker)
    else:
        run = _ReplayRun.start(request, marker, tmp_path / "utau-peer" / "OpenUtau" / "PluginServers")
    request.node.stash[_RUN] = run
    try:
        yield run.peer
    finally:
        del request.node.stash[_RUN]
        run.abort()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """After the test body: finish its replay (fail on divergence) or its recording."""
    try:
        result = yield
    except BaseException:
        run = item.stash.get(_RUN, None)
        if run is not None:
            run.abort()
        raise
    run = item.stash.get(_RUN, None)
    if run is not None:
        run.finish()
    return result


def read_marker(node: pytest.Item) -> CaptureMarker:
    """The test's `utau_capture` marker, checked; a usage mistake fails the test's setup."""
    mark = node.get_closest_marker(MARKER)
    if mark is None:
        pytest.fail(f"the {FIXTURE} fixture needs @pytest.mark.{MARKER}(path, role=...)", pytrace=False)
    if len(mark.args) != 1:
        pytest.fail(f"@pytest.mark.{MARKER} takes one capture path, got {mark.args!r}", pytrace=False)
    options = dict(mark.kwargs)
    role = options.pop("role", "plugin")
    if role not in ("plugin", "openutau"):
        pytest.fail(f"@pytest.mark.{MARKER}: role must be 'plugin' or 'openutau', not {role!r}",
                    pytrace=False)
    discovery_dir = options.pop("discovery_dir", None)
    unknown = sorted(set(options) - REPLAY_KEYWORDS)
    if unknown:
        pytest.fail(f"@pytest.mark.{MARKER}: unknown option(s) {', '.join(unknown)} "
                    f"(known: role, discovery_dir, {', '.join(sorted(REPLAY_KEYWORDS))})", pytrace=False)
    capture = Path(mark.args[0])
    if not capture.is_absolute():
        capture = Path(node.path).parent / capture
    return CaptureMarker(capture, role, Path(discovery_dir) if discovery_dir else None,
                         {**TEST_DEFAULTS, **options})


# -- the two modes ---------------------------------------------------------------------------


def _enter(context: DualContext[T], what: str) -> T:
    """Enter `context`; an expected failure (unreadable capture, unsafe folder) fails the
    test's setup with its message rather than a traceback."""
    from utauproxy.errors import UtauproxyError

    try:
        return context.__enter__()
    except UtauproxyError as exc:
        pytest.fail(f"{what}: {exc}", pytrace=False)


class _PeerRun(ABC):
    """A replay or a recording that lives as long as one test."""

    def __init__(self, item: pytest.Item, peer: UtauPeer, context: DualContext[Any]) -> None:
        self.item = item
        self.peer = peer
        self._context: DualContext[Any] | None = context

    def _close(self) -> DualContext[Any] | None:
        context, self._context = self._context, None
        return context

    @abstractmethod
    def finish(self) -> None:
        """The test body passed: end the run and judge it (fails the test if need be)."""

    def abort(self) -> None:
        """Cancel (the test failed, or never ran); errors of the cancelled run are not news."""
        context = self._close()
        if context is not None:
            try:
                context.__exit__(_TestEnded, _TestEnded(), None)
            except Exception as exc:  # the test's own failure is what matters
                self.item.add_report_section("teardown", "utauproxy", f"while cancelling: {exc!r}")
            self.aborted()

    def aborted(self) -> None:
        pass


class _ReplayRun(_PeerRun):
    @classmethod
    def start(cls, request: pytest.FixtureRequest, marker: CaptureMarker, private_dir: Path) -> _ReplayRun:
        from utauproxy.api import replaying

        if not marker.capture.is_file():
            pytest.fail(f"capture {marker.capture} does not exist; record it against the real "
                        "peer with `pytest --utau-record`", pytrace=False)
        folder = marker.discovery_dir or private_dir
        try:
            context = replaying(marker.capture, role=marker.role, discovery_dir=folder,
                                **marker.replay_kwargs)
        except (TypeError, ValueError) as exc:
            pytest.fail(f"@pytest.mark.{MARKER}: {exc}", pytrace=False)
        session: ReplaySession = _enter(context, f"cannot replay {marker.capture}")
        peer = UtauPeer("replay", marker.role, marker.capture, session.discovery_dir, replay=session)
        return cls(request.node, peer, context)

    def finish(self) -> None:
        from utauproxy.api import Divergence, render_human

        context = self._close()
        if context is None:
            return
        divergence: Divergence | None = None
        try:
            context.__exit__(None, None, None)
        except Divergence as exc:
            divergence = exc
        if divergence is not None:  # failed outside the except: no "during handling" chain
            what = ("could not be reached or the connection was lost" if divergence.report.peer_error
                    else "diverged from the capture")
            pytest.fail(f"{self.peer.role} replay of {self.peer.capture.name}: the peer {what}\n"
                        f"{divergence}", pytrace=False)
        report = self.peer.replay.report if self.peer.replay is not None else None
        if report is not None:
            self.item.add_report_section("call", "utauproxy", render_human(report))


class _RecordRun(_PeerRun):
    def __init__(self, item: pytest.Item, peer: UtauPeer, context: DualContext[Any],
                 partial_file: Path) -> None:
        super().__init__(item, peer, context)
        self.partial_file = partial_file

    @classmethod
    def start(cls, request: pytest.FixtureRequest, marker: CaptureMarker) -> _RecordRun:
        from utauproxy.api import recording
        from utauproxy.discovery.paths import default_discovery_dir

        option = request.config.getoption("--utau-discovery-dir")
        folder = Path(option) if option else marker.discovery_dir or default_discovery_dir()
        marker.capture.parent.mkdir(parents=True, exist_ok=True)
        # Recorded beside the capture and renamed over it only if the test passes.
        partial_file = marker.capture.with_name(f".{marker.capture.name}.{os.getpid()}.recording")
        partial_file.unlink(missing_ok=True)
        context = recording(partial_file, discovery_dir=folder, note=f"pytest {request.node.nodeid}")
        rec: Recording = _enter(context, f"--utau-record: cannot record in {folder}")
        peer = UtauPeer("record", marker.role, marker.capture, folder, recording=rec)
        return cls(request.node, peer, context, partial_file)

    def finish(self) -> None:
        context = self._close()
        if context is None:
            return
        try:
            context.__exit__(None, None, None)
        except BaseException:
            self.partial_file.unlink(missing_ok=True)
            raise
        rec = self.peer.recording
        assert rec is not None
        if rec.connections == 0:
            self.partial_file.unlink(missing_ok=True)
            pytest.fail(f"--utau-record: no connection went through the proxy in "
                        f"{self.peer.discovery_dir}; {self.peer.capture} was left unchanged",
                        pytrace=False)
        os.replace(self.partial_file, self.peer.capture)
        line = (f"{self.peer.capture}: {rec.connections} connection(s), {rec.messages} "
                f"message(s) ({self.item.nodeid})")
        self.item.config.stash[_RERECORDED].append(line)
        self.item.add_report_section("call", "utauproxy", f"re-recorded {line}")

    def aborted(self) -> None:
        self.partial_file.unlink(missing_ok=True)
        self.item.add_report_section("teardown", "utauproxy",
                                     f"the test did not pass: {self.peer.capture} was left unchanged")
