"""One replayed connection over a live socket: a reader feeding the Matcher and a sender
playing the plan against one start anchor. Both impersonations use it; they differ only in
which direction we send and in when a connection is over."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import anyio
from anyio.abc import ByteStream

from utauproxy.protocol.events import AudioFrame, Dialect, EndOfStream, Event, LinePiece
from utauproxy.protocol.framer import Framer
from utauproxy.protocol.lenient_json import plugin_hazards
from utauproxy.records import ConnEvent, Direction, MessageFlags
from utauproxy.replay.ids import IdMap, fresh_id, with_id
from utauproxy.replay.matcher import Arrival, Matcher
from utauproxy.replay.options import ReplayOptions
from utauproxy.replay.plan import Outgoing, plan_outgoing
from utauproxy.replay.save import SessionLog
from utauproxy.replay.script import ConnectionScript, Role, ScriptMessage

RECEIVE_SIZE = 1 << 16
_HAZARD_CHECK_LIMIT = 4 << 20  # bigger lines are updateAudio base64; not worth a full scan
# The sender's last wait before a send is a precise blocking sleep of at most this (see `_wait`):
# after idle gaps the loop's timer woke up to ~3 ms late on the VM; 4 ms measured p99 0.8 ms.
_FINE = 0.004
_GONE = (anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream, OSError)


@dataclass(slots=True)
class ConnectionOutcome:
    matcher: Matcher
    lateness: list[float] = field(default_factory=list)
    sent: int = 0
    unsent: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    peer_closed: bool = False  # the peer ended the connection (FIN or reset)
    lost: str | None = None  # the peer went away while we still had work: exit 3 material
    hazards_sent: int = 0


@dataclass(slots=True)
class _Pending:
    """What is left to send: answers, each waiting for its request, and scheduled messages
    in recorded order. Kept apart so that choosing the next send does not walk the whole plan
    (it runs between a wake-up and the send)."""

    answers: list[Outgoing]
    scheduled: deque[Outgoing]

    @classmethod
    def of(cls, plan: list[Outgoing]) -> _Pending:
        return cls([o for o in plan if o.is_answer], deque(o for o in plan if not o.is_answer))

    def __bool__(self) -> bool:
        return bool(self.answers or self.scheduled)

    def remove(self, item: Outgoing) -> None:
        if item.is_answer:
            self.answers.remove(item)
        else:
            self.scheduled.remove(item)  # the first one: only it is ever chosen


class ConnectionReplay:
    """Replays `script` on `stream`, sending the `sending` side of it."""

    def __init__(self, script: ConnectionScript, sending: Direction, options: ReplayOptions,
                 log: SessionLog, conn_id: int, dialect: Dialect) -> None:
        self.script = script
        self.sending = sending
        self.options = options
        self.log = log
        self.conn_id = conn_id
        self.ids = IdMap()
        self.matcher = Matcher(script, sending.reverse, options.rules, self.ids, options.redactor)
        self.plan, self.offsets = plan_outgoing(script, sending, options.pace)
        self.outcome = ConnectionOutcome(self.matcher)
        self._framer = Framer(dialect)
        self._pieces: list[bytes] = []
        self._matched_at: dict[int, float] = {}
        self._sent_at: dict[int, float] = {}
        self._changed = anyio.Event()
        self._anchor = 0.0
        self._last_progress = 0.0
        self._sender_done = False
        self._last_scheduled_sent = 0.0

    async def run(self, stream: ByteStream) -> ConnectionOutcome:
        """Replay until the connection is over; always closes `stream`."""
        self._anchor = self._last_progress = anyio.current_time()
        async with stream:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._send_all, stream)
                await self._read_all(stream)
                tasks.cancel_scope.cancel()
        self.outcome.unsent = [o.message.label for o in self.plan if o.message.index not in self._sent_at]
        # Counted after the run: scanning a 150 KB USTX line takes ~1 ms, off the send path.
        self.outcome.hazards_sent = sum(self._is_hazard(o.message) for o in self.plan
                                        if o.message.index in self._sent_at)
        return self.outcome

    # -- receiving ------------------------------------------------------------------------

    async def _read_all(self, stream: ByteStream) -> None:
        while not self._finished():
            try:
                with anyio.move_on_after(max(0.0, self._idle_deadline() - anyio.current_time())):
                    data = await stream.receive(RECEIVE_SIZE)
                    self._feed(data)
                    continue
            except _GONE:
                self._feed(b"")
                self.outcome.peer_closed = True
                self.log.connection(self.conn_id, ConnEvent.EOF, self.sending.reverse)
                return
            if anyio.current_time() >= self._idle_deadline():
                waiting = ", ".join(m.label for m in self.matcher.outstanding[:3]) or "the peer to close"
                self.outcome.notes.append(
                    f"conn {self.conn_id}: gave up after {self.options.timeout:g} s without progress, "
                    f"waiting for {waiting}")
                return

    def _finished(self) -> bool:
        """Everything sent and everything expected arrived: playing OpenUtau we then close
        (our recorded side ended the session); playing the plugin, we close only if the
        recorded plugin did, else we wait for OpenUtau to close (PROTOCOL.md §3.6.7)."""
        if not self._sender_done or self.matcher.outstanding:
            return False
        return self.sending is Direction.OU_TO_PLUGIN or self.script.ended_by is Direction.PLUGIN_TO_OU

    def _idle_deadline(self) -> float:
        start = self._last_progress
        outstanding = self.matcher.outstanding
        if outstanding:
            start = max(start, self._anchor + self.offsets[outstanding[0].index])
        return start + self.options.timeout

    def _feed(self, data: bytes) -> None:
        self._framer.receive_data(data)
        for event in self._framer:
            self._on_event(event)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, EndOfStream):
            return
        if isinstance(event, LinePiece):
            self._pieces.append(event.raw)
            if not event.final:
                return
            raw, terminated = b"".join(self._pieces), event.terminated
            self._pieces = []
            flags = MessageFlags.NONE if terminated else MessageFlags.NO_LF
        elif isinstance(event, AudioFrame):
            raw, flags = event.raw, MessageFlags.FRAME
        else:
            raw = event.raw
            flags = MessageFlags.NONE if event.terminated else MessageFlags.NO_LF
        now = anyio.current_time()
        self.log.message(self.conn_id, self.sending.reverse, raw, flags)
        matched = self.matcher.receive(Arrival(raw, int((now - self._anchor) * 1e9), flags))
        if matched is not None:
            self._matched_at[matched.expected.index] = now
            self._last_progress = now
        self._changed.set()

    # -- sending --------------------------------------------------------------------------

    async def _send_all(self, stream: ByteStream) -> None:
        pending = _Pending.of(self.plan)
        while pending:
            changed = self._changed
            now = anyio.current_time()
            chosen, wake = self._next(pending, now)
            if chosen is not None and wake <= now:
                pending.remove(chosen)
                if not await self._send(stream, chosen, wake):
                    break
                continue
            await self._wait(changed, wake)
            if changed.is_set():
                self._changed = anyio.Event()
        self._sender_done = True
        self._changed.set()

    @staticmethod
    async def _wait(changed: anyio.Event, wake: float) -> None:
        """Until `wake` or a change. The event loop's timers wake up to 1 ms late (epoll counts
        whole milliseconds; an idle VM adds more), so wait on the loop until `_FINE` before
        `wake`, then sleep the rest in the kernel (ns timer): it blocks the loop for at most
        `_FINE`, uses no CPU, and the reader's bytes wait in the socket meanwhile."""
        coarse = wake - _FINE - anyio.current_time()
        if coarse > 0:
            with anyio.move_on_after(coarse):
                await changed.wait()
        rest = wake - anyio.current_time()
        if not changed.is_set() and rest > 0:
            time.sleep(min(rest, _FINE))

    def _next(self, pending: _Pending, now: float) -> tuple[Outgoing | None, float]:
        """The message to send next and when it is due; or None and when to look again.
        Scheduled messages go out in recorded order, so only the first one is a candidate."""
        best: tuple[float, int, Outgoing] | None = None
        wake = now + 3600.0
        for item in pending.answers:
            due = self._answer_due(item)
            if due is not None and (best is None or (due, item.message.index) < best[:2]):
                best = (due, item.message.index, item)
        if pending.scheduled:
            item = pending.scheduled[0]
            due, release = self._scheduled_due(item, now)
            if due is None:
                wake = min(wake, release)
            elif best is None or (due, item.message.index) < best[:2]:
                best = (due, item.message.index, item)
        if best is None:
            return None, wake
        return best[2], min(best[0], wake) if best[0] > now else best[0]

    def _answer_due(self, item: Outgoing) -> float | None:
        assert item.answers is not None
        asked = self._matched_at.get(item.answers)
        if asked is None:
            return None  # never answer a request that did not come
        return max(self._anchor + item.due, asked)

    def _scheduled_due(self, item: Outgoing, now: float) -> tuple[float | None, float]:
        scheduled = self._anchor + item.due
        give_up = scheduled + self.options.timeout
        # Sent in recorded order: never due before the previous scheduled message went out.
        ready = max(scheduled, self._last_scheduled_sent)
        for need in item.needs:
            arrived = self._matched_at.get(need)
            if arrived is None:
                if now < give_up:
                    return None, give_up
                arrived = give_up  # the matcher reports it missing; go on without it
            ready = max(ready, arrived)
        return ready, ready

    async def _send(self, stream: ByteStream, item: Outgoing, due: float) -> bool:
        message = item.message
        raw = message.raw
        if item.answers is not None and message.role is Role.RESPONSE:
            raw = with_id(raw, self.ids.live_id(item.answers) or message.request_id or "")
        elif message.role is Role.REQUEST:
            live = fresh_id() if self.options.fresh_ids else (message.request_id or fresh_id())
            self.ids.bind(message.index, live)
            raw = with_id(raw, live)
        wire = raw if message.flags & (MessageFlags.NO_LF | MessageFlags.FRAME) else raw + b"\n"
        # Lateness is taken when the bytes are ready to go, after everything done for them.
        late = anyio.current_time() - due
        try:
            await stream.send(wire)
        except _GONE as exc:
            self.outcome.lost = f"sending {message.label} failed: {exc!r}"
            return False
        now = anyio.current_time()
        self.log.message(self.conn_id, self.sending, raw, message.flags)
        self._sent_at[message.index] = now
        if not item.is_answer:
            self._last_scheduled_sent = now
        self._last_progress = now
        self.outcome.sent += 1
        self.outcome.lateness.append(max(0.0, late))
        return True

    def _is_hazard(self, message: ScriptMessage) -> bool:
        """The capture contained it, so it was sent; but say so (PROTOCOL.md §2.2, §6). Only
        the header differs between the recorded and the sent line (the live id)."""
        if self.sending is not Direction.OU_TO_PLUGIN or message.role in (Role.FRAME, Role.CLOSE):
            return False
        raw = message.raw
        return len(raw) <= _HAZARD_CHECK_LIMIT and (b" " not in raw[:600] or bool(plugin_hazards(raw.split(b" ", 1)[1])))
