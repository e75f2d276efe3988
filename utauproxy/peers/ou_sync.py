"""Timing helpers of the simulated OpenUtau: its debounces and its one-shot response handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio

from utauproxy.protocol.events import Message


class Debouncer:
    """Runs `action` once things have been quiet for `delay` seconds (DawManager's
    debounces, PROTOCOL.md §3.6.5). Deadlines come from the caller's scheduled times, not
    from when the event loop got round to it, so a busy machine does not reorder a
    scenario."""

    def __init__(self, delay: float, action: Callable[[], Awaitable[None]]) -> None:
        self.delay = delay
        self.action = action
        self.fired = 0
        self.pending = False
        self._deadline = 0.0
        self._lock = anyio.Lock()
        self._wake = anyio.Event()
        self._changed = anyio.Event()
        self._scope = anyio.CancelScope()
        self._firing = False  # quiet period over, action not finished yet
        self._next: float | None = None  # deadline of a quiet period queued behind this one

    def trigger(self, at: float) -> None:
        """Restart the quiet period as of `at` (an anyio clock time). A trigger dated after
        the current deadline (seen late by a busy loop) does not extend it: that burst is due
        on the schedule, and the trigger starts the next quiet period."""
        if not self.pending:
            self._deadline = at + self.delay
        elif at > self._deadline:
            self._next = max(self._next or 0.0, at + self.delay)
        else:
            self._deadline = max(self._deadline, at + self.delay)
        self.pending = True
        self._changed.set()
        self._wake.set()

    def fire_now(self) -> None:
        """Cut the quiet period short (R's playbackStarted flushes the debounces)."""
        if self.pending:
            self._deadline = anyio.current_time()
            self._changed.set()

    async def run(self) -> None:
        with self._scope:
            while True:
                await self._wake.wait()
                self._wake = anyio.Event()
                if not self.pending:
                    continue
                await self._wait_quiet()
                # Cleared before the lock's checkpoint: a trigger from here on starts a new
                # cycle instead of being swallowed by this one.
                self.pending, self._firing = False, True
                if self._next is not None:
                    self._deadline, self._next, self.pending = self._next, None, True
                    self._wake.set()
                try:
                    async with self._lock:
                        self.fired += 1
                        await self.action()
                finally:
                    self._firing = False

    async def stop(self) -> bool:
        """Let a running action finish, then stop; True if a burst was still to come."""
        async with self._lock:
            self._scope.cancel()
            return self.pending or self._firing

    async def _wait_quiet(self) -> None:
        while True:
            remaining = self._deadline - anyio.current_time()
            if remaining <= 0:
                return
            self._changed = anyio.Event()
            with anyio.move_on_after(remaining):
                await self._changed.wait()


class PendingRequests:
    """OpenUtau's one-shot response handlers, keyed by request id (§2.2). A response may
    arrive before its sender starts waiting (the send itself yields), so an answer is kept
    until `wait` collects it."""

    def __init__(self) -> None:
        self._waiting: dict[str, tuple[anyio.Event, list[Message | None]]] = {}
        self._closed = False

    def open(self, request_id: str) -> None:
        event, slot = anyio.Event(), list[Message | None]()
        if self._closed:  # the link is gone: nothing will ever answer
            slot.append(None)
            event.set()
        self._waiting[request_id] = (event, slot)

    def resolve(self, request_id: str, message: Message) -> bool:
        """Deliver a response; False for an id nobody waits for (logged as unhandled)."""
        entry = self._waiting.get(request_id)
        if entry is None or entry[1]:
            return False
        entry[1].append(message)
        entry[0].set()
        return True

    def fail_all(self) -> None:
        """The link went away: every pending and future request gets no answer."""
        self._closed = True
        for event, slot in self._waiting.values():
            if not slot:
                slot.append(None)
                event.set()

    async def wait(self, request_id: str, timeout: float) -> Message | None:
        """The response, or None on timeout or when the link went away."""
        entry = self._waiting.get(request_id)
        if entry is None:
            return None
        try:
            with anyio.move_on_after(timeout):
                await entry[0].wait()
        finally:
            self._waiting.pop(request_id, None)
        return entry[1][0] if entry[1] else None
