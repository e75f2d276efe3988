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
from collections.abc import Iterable, Iterator

from utauproxy.inspect.audio import DigestsAhead
from utauproxy.protocol.audio import UPDATE_AUDIO_HEAD
from utauproxy.inspect.bigline import plain_strings
from utauproxy.records import MessageFlags, MessageRecord, Record

# The window: records are held back while they add up to less than this. A line of tens of
# MB passes straight through (its payloads are started all the same, and digested on the
# worker threads while the main thread validates the line), so memory grows by 16 MiB at most.
_AHEAD_BYTES = 16 << 20
_AHEAD_RECORDS = 32
# Strings shorter than this are not worth a thread switch (a pure tone's payload of a few KB
# can still hold MB of samples, so the bound is low).
_MIN_PAYLOAD = 4096


def with_audio_ahead(records: Iterable[Record]) -> Iterator[Record]:
    """`records`, unchanged and in order, with the audio of the next few digested meanwhile.
    Not for a capture still being written: a small record may wait for the next ones before
    it is passed on."""
    with DigestsAhead() as digests:
        window: deque[Record] = deque()
        held = 0
        size = 1  # grows to _AHEAD_RECORDS: the first records are passed on at once
        for record in records:
            if isinstance(record, MessageRecord):
                _start(record, digests)
                held += len(record.raw)
            window.append(record)
            while window and (held > _AHEAD_BYTES or len(window) > size):
                out = window.popleft()
                if isinstance(out, MessageRecord):
                    held -= len(out.raw)
                size = min(2 * size, _AHEAD_RECORDS)
                yield out
        yield from window


def _start(record: MessageRecord, digests: DigestsAhead) -> None:
    raw = record.raw
    if record.flags & (MessageFlags.FRAME | MessageFlags.CONTINUED) or not raw.startswith(UPDATE_AUDIO_HEAD):
        return
    view = memoryview(raw)
    for start, end in plain_strings(raw, len(UPDATE_AUDIO_HEAD), _MIN_PAYLOAD):
        digests.start(view[start:end])
