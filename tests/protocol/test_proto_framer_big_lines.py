"""Lines over 1 MiB arriving in pieces are gathered outside the framer's bytearray (no full-size
copy when they end): the events must be exactly those of the same bytes arriving at once."""

from __future__ import annotations

import random

import pytest

from utauproxy.protocol.events import Dialect, Event
from utauproxy.protocol.framer import Framer

MIB = 1 << 20


def _events(data: bytes, cuts: list[int], dialect: Dialect, max_line: int) -> list[tuple[object, ...]]:
    framer = Framer(dialect, validate=False, max_line=max_line)
    seen: list[tuple[object, ...]] = []

    def drain() -> None:
        event: Event
        for event in framer:
            seen.append((type(event).__name__, getattr(event, "raw", None), getattr(event, "reason", None),
                         getattr(event, "terminated", None), getattr(event, "final", None)))

    start = 0
    for cut in [*cuts, len(data)]:
        framer.receive_data(data[start:cut])
        start = cut
        drain()
    framer.receive_data(b"")
    drain()
    assert framer.buffered == 0
    return seen


STREAMS = {
    "audio line then more": b"notification:updateAudio {\"a\":\"" + b"QUJD" * (MIB // 2) + b"\"}\nnotification:ping {}\n",
    "two long lines back to back": (b"x" * (2 * MIB) + b"\n") * 2,
    "long line cut by EOF": b"request:1:init " + b"y" * (2 * MIB),
    "long CRLF line": b"notification:updateUstx " + b"z" * (MIB + 5) + b"\r\n",
    "long bad frame header": b"audio " + b"1" * (MIB + 5) + b"\nnotification:ping {}\n",
    "frame with a long payload": b"audio 7 %d\n" % (2 * MIB) + b"\0" * (2 * MIB - 2) + b"\n\nclose\n",
}


@pytest.mark.parametrize("name", sorted(STREAMS))
@pytest.mark.parametrize("max_line", [512 * MIB, MIB + MIB // 2])
@pytest.mark.parametrize("dialect", [Dialect.AUTO, Dialect.LINE])
def test_long_lines_in_pieces_frame_like_at_once(name: str, max_line: int, dialect: Dialect) -> None:
    data = STREAMS[name]
    rng = random.Random(f"{name}-{max_line}-{dialect}")
    whole = _events(data, [], dialect, max_line)
    cuts = sorted(rng.sample(range(1, len(data)), 40))
    assert _events(data, cuts, dialect, max_line) == whole
    assert _events(data, list(range(256 * 1024, len(data), 256 * 1024)), dialect, max_line) == whole
