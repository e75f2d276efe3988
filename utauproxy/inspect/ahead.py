"""Records read a little ahead, with the audio they carry already being digested.

Verifying audio (base64, zstd, XXH32 of every sample) is most of the work of reading an
audio-heavy capture, and every command that reads one does it in capture order, one payload
after another, on the main thread. Here the records pass through a short window: an
`updateAudio` line entering it has its payloads handed to `DigestsAhead`'s worker threads,
so by the time the line reaches the command its digests are done or under way on the other
core, while the main thread was busy with the lines before it. Only the timing changes: the
digests are the ones `audio_digest` would compute (inspect/audio.py), and the records come
out unchanged and in order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import TypeVar

from utauproxy.inspect.audio import DigestsAhead
from utauproxy.protocol.audio import UPDATE_AUDIO_HEAD
from utauproxy.inspect.bigline import plain_strings
from utauproxy.records import MessageFlags, MessageRecord, Record

# The window: items are held back while they add up to less than this. A line of tens of
# MB passes straight through (its payloads are started all the same, and digested on the
# worker threads while the main thread validates the line), so memory grows by 16 MiB at most.
_AHEAD_BYTES = 16 << 20
_AHEAD_RECORDS = 32
# Strings shorter than this are not worth a thread switch (a pure tone's payload of a few KB
# can still hold MB of samples, so the bound is low).
_MIN_PAYLOAD = 4096

T = TypeVar("T")


def with_audio_ahead(records: Iterable[Record], digests: DigestsAhead | None = None) -> Iterator[Record]:
    """`records`, unchanged and in order, with the audio of the next few digested meanwhile.
    Not for a capture still being written: a small record may wait for the next ones before
    it is passed on. `digests`: an open DigestsAhead to start them on; by default one of its
    own, open while the records are read."""
    if digests is None:
        with DigestsAhead() as own:
            yield from _records_ahead(records, own)
    else:
        yield from _records_ahead(records, digests)


def _records_ahead(records: Iterable[Record], digests: DigestsAhead) -> Iterator[Record]:
    def enter(record: Record) -> int:
        if not isinstance(record, MessageRecord):
            return 0
        if not record.flags & (MessageFlags.FRAME | MessageFlags.CONTINUED):
            start_audio(record.raw, digests)
        return len(record.raw)

    return ahead(records, enter)


def ahead(items: Iterable[T], enter: Callable[[T], int]) -> Generator[T, None, None]:
    """`items`, unchanged and in order, each handed to `enter` (which starts whatever work
    it wants done ahead, and says how many bytes the item holds) up to 32 items or 16 MiB
    before it is passed on. The first items are passed on at once (the window grows), so a
    reader sees the start of a capture without waiting for the window to fill."""
    window: deque[tuple[T, int]] = deque()
    held = 0
    size = 1  # grows to _AHEAD_RECORDS
    for item in items:
        weight = enter(item)
        held += weight
        window.append((item, weight))
        while window and (held > _AHEAD_BYTES or len(window) > size):
            out, weight = window.popleft()
            held -= weight
            size = min(2 * size, _AHEAD_RECORDS)
            yield out
    for out, _ in window:
        yield out


def start_audio(raw: bytes, digests: DigestsAhead) -> None:
    """Start the digests of the audio payloads of `raw`, if it is an updateAudio line (a
    whole one: not a frame, not a piece of a long line)."""
    if not raw.startswith(UPDATE_AUDIO_HEAD):
        return
    view = memoryview(raw)
    for start, end in plain_strings(raw, len(UPDATE_AUDIO_HEAD), _MIN_PAYLOAD):
        digests.start(view[start:end])
