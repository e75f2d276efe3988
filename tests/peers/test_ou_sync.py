"""OpenUtau's debounces and one-shot response handlers. Time bounds here are orders of
magnitude apart (a 100 s debounce must fire within 5 s), never tight."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest

from utauproxy.peers.ou_sync import Debouncer, PendingRequests
from utauproxy.protocol.events import Message
from utauproxy.protocol.header import parse_header

pytestmark = pytest.mark.anyio


class _Burst:
    def __init__(self, duration: float = 0.0) -> None:
        self.started = 0
        self.finished = 0
        self.duration = duration

    async def action(self) -> None:
        self.started += 1
        await anyio.sleep(self.duration)
        self.finished += 1


async def _until(predicate: Callable[[], object]) -> None:
    with anyio.fail_after(5):
        while not predicate():
            await anyio.sleep(0.001)


async def test_triggers_within_the_quiet_period_give_one_burst() -> None:
    burst = _Burst()
    debouncer = Debouncer(0.3, burst.action)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(debouncer.run)
        start = anyio.current_time()
        for offset in (0.0, 0.02, 0.04):
            await anyio.sleep_until(start + offset)
            debouncer.trigger(start + offset)
        await _until(lambda: burst.finished)
        assert debouncer.fired == 1 and not debouncer.pending
        debouncer.trigger(anyio.current_time() - 10)  # a later edit: a second burst
        await _until(lambda: burst.finished == 2)
        tasks.cancel_scope.cancel()


async def test_deadline_counts_from_the_scheduled_time() -> None:
    # An edit due 200 s ago, processed only now: a 100 s debounce is already over.
    burst = _Burst()
    debouncer = Debouncer(100.0, burst.action)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(debouncer.run)
        debouncer.trigger(anyio.current_time() - 200)
        await _until(lambda: burst.finished)
        tasks.cancel_scope.cancel()


async def test_triggers_seen_together_but_dated_apart_give_two_bursts() -> None:
    # A busy loop processes two edits at once; on the schedule they were 5 s apart, more
    # than the 1 s debounce, so OpenUtau would have sent two bursts.
    burst = _Burst()
    debouncer = Debouncer(1.0, burst.action)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(debouncer.run)
        now = anyio.current_time()
        debouncer.trigger(now - 10)
        debouncer.trigger(now - 5)
        await _until(lambda: burst.finished == 2)
        await anyio.sleep(0.01)
        assert debouncer.fired == 2 and not debouncer.pending
        tasks.cancel_scope.cancel()


async def test_fire_now_flushes_a_pending_debounce() -> None:
    burst = _Burst()
    debouncer = Debouncer(100.0, burst.action)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(debouncer.run)
        debouncer.trigger(anyio.current_time())
        await anyio.sleep(0.01)
        assert burst.started == 0
        debouncer.fire_now()  # R's playbackStarted
        await _until(lambda: burst.finished)
        tasks.cancel_scope.cancel()


async def test_stop_waits_for_a_running_burst_and_drops_a_pending_one() -> None:
    burst = _Burst(duration=0.2)
    debouncer = Debouncer(1.0, burst.action)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(debouncer.run)
        debouncer.trigger(anyio.current_time() - 10)
        await _until(lambda: burst.started)
        debouncer.trigger(anyio.current_time())
        assert await debouncer.stop() is True  # something was still pending
        assert burst.finished == 1  # the running burst was not cut short
        await anyio.sleep(0.01)
    assert burst.started == 1  # and the pending one never ran (P2 loses it)


async def test_responses_are_kept_even_when_they_beat_the_waiter() -> None:
    pending = PendingRequests()
    pending.open("a")
    pending.open("b")
    answer = Message(raw=b"response:a {}", header=parse_header(b"response:a"))
    assert pending.resolve("a", answer)  # arrives while the request is still being sent
    assert not pending.resolve("a", answer) and not pending.resolve("zzz", answer)
    assert await pending.wait("a", 5.0) is answer
    assert await pending.wait("b", 0.01) is None  # timed out


async def test_a_lost_link_fails_pending_and_later_requests_at_once() -> None:
    pending = PendingRequests()
    pending.open("a")
    pending.fail_all()
    pending.open("b")
    with anyio.fail_after(5):
        assert await pending.wait("a", 100.0) is None
        assert await pending.wait("b", 100.0) is None
