"""The decoded items of a capture, a few ahead of its summary, with their audio under way.

inspect/ahead.py's window, for a diff: each line entering it gets its facts key (a hash of
all of its payload, which the summary needs anyway: it is handed on with the item, so the
payload is hashed once), and the digests of its audio are started on the worker threads,
unless there is nothing to start: its facts are known (a payload seen before, in this capture
or the other), or its audio was started already (by the other capture's window, a little
ahead or behind this one). Those lines are not looked into at all (no scan for their strings,
no hash of each of them), which is most of the audio of the second capture of a diff of a
recording with its replay, or with itself.

Only the timing changes: a digest not started ahead is worked out when the summary asks for
it (inspect/audio.py `audio_digest`), and the items come out unchanged and in order.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable

from utauproxy.diff.facts import FactsCache, FactsKey
from utauproxy.diff.summary import facts_key
from utauproxy.inspect.ahead import ahead, start_audio
from utauproxy.inspect.audio import DigestsAhead
from utauproxy.inspect.decode import Decoded, DecodedMessage
from utauproxy.protocol.events import Message

# Payloads whose audio was started, by hash and length of the whole payload: more than the
# audio lines of a long session (an entry is a few dozen bytes).
_STARTED_KEPT = 4096

Keyed = tuple[Decoded, FactsKey | None]


class AudioAhead:
    """The window of one or more captures' items (one per capture, sharing what was started)."""

    def __init__(self, facts: FactsCache, digests: DigestsAhead) -> None:
        self._facts = facts
        self._digests = digests
        self._started: dict[tuple[int, int], None] = {}

    def items(self, items: Iterable[Decoded]) -> Generator[Keyed, None, None]:
        """`items`, unchanged and in order, each with the facts key of its line (None for
        anything but a Message), a few items before the caller gets it."""
        return ahead((self._keyed(item) for item in items), self._enter)

    @staticmethod
    def _keyed(item: Decoded) -> Keyed:
        if isinstance(item, DecodedMessage) and isinstance(item.event, Message):
            return item, facts_key(item.event, item.direction)
        return item, None

    def _enter(self, keyed: Keyed) -> int:
        item, key = keyed
        if not isinstance(item, DecodedMessage):
            return 0
        if key is not None and isinstance(item.event, Message) and self._facts.get(key) is None:
            payload = key[:2]
            if payload not in self._started:
                self._remember(payload)
                start_audio(item.event.raw, self._digests)
        return sum(len(record.raw) for record in item.records)

    def _remember(self, payload: tuple[int, int]) -> None:
        if len(self._started) >= _STARTED_KEPT:
            del self._started[next(iter(self._started))]
        self._started[payload] = None
