"""Pass 1 over both captures at once: their summaries, read side by side on one thread.

Reading a capture is a pipeline: a worker thread decompresses the next big chunk (zstd lets
go of the GIL) while the main thread summarises the records of the chunk before it. Summarising
one capture after the other, the main thread catches up with the worker at every big chunk
and waits for it (30% of its time on the benchmark's captures). Here the two
captures take turns: a few MiB of messages of A, then as many of B, and so on, so that while
the main thread works through A's records, B's worker decompresses B's next chunk, and the
other way round.

Only the order of the work changes, never its result: each summary is fed its own items in
capture order, exactly as `summarize_capture` feeds them. What the two summaries share is
pure, whichever side gets there first: the payload facts (facts.py: a function of the bytes
and their carrier), the audio digests (inspect/audio.py, by the text of the payload) and
the digests being worked out ahead (one DigestsAhead for both, so a payload the other capture
also holds is decoded once). The turns depend on the messages alone, not on timing, so a
diff does the same work in the same order on every run.

Memory: both readers are open at once, so their buffers (a chunk being read and one read
ahead, each) add up; still bounded by the chunk size, not by the size of the files.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from utauproxy.capture.reader import CaptureReader
from utauproxy.diff.facts import FactsCache
from utauproxy.diff.lookahead import AudioAhead
from utauproxy.diff.summary import CaptureSummary, Summarizer, decoded
from utauproxy.inspect.audio import DigestsAhead
from utauproxy.inspect.decode import DecodedMessage, dialect_of

# Message bytes summarised from one capture before the turn passes to the other: small
# against the big chunks of audio captures (tens of MB, one line each), so each turn leaves
# the other side's worker a chunk to decompress; large against small messages, so turns are
# few where there is nothing to overlap (a turn costs a generator switch).
TURN_BYTES = 4 << 20


class _Side:
    """One capture being summarised: its reader, its stream of items and its summarizer."""

    def __init__(self, path: Path, facts: FactsCache, audio: AudioAhead, stack: ExitStack) -> None:
        self.reader = stack.enter_context(CaptureReader.open(path))
        self.dialect = dialect_of(self.reader.header)
        self.summarizer = Summarizer(path.name, self.reader.header, facts)
        self.items = audio.items(decoded(self.reader.records(), self.dialect))
        stack.callback(self.items.close)  # before the reader closes: its worker thread ends first

    def turn(self, budget: int) -> bool:
        """Summarise items until `budget` message bytes are done; False once all are."""
        done = 0
        for item, key in self.items:
            self.summarizer.add(item, self.dialect, key)
            if isinstance(item, DecodedMessage):
                done += sum(len(record.raw) for record in item.records)
                if done >= budget:
                    return True
        return False

    def result(self) -> tuple[CaptureSummary, int]:
        return self.summarizer.finish(), sum(damage.length for damage in self.reader.damage)


def summarize_pair(path_a: Path, path_b: Path,
                   facts: FactsCache | None = None) -> tuple[tuple[CaptureSummary, int], tuple[CaptureSummary, int]]:
    """What `summarize_capture` gives for A, then for B (with one FactsCache shared), worked
    out side by side. An error opening or reading B is raised only once A has been read in
    full, so that when both files fail, A's error is the one raised, as when read in turn."""
    facts = facts if facts is not None else FactsCache()
    with ExitStack() as stack:
        audio = AudioAhead(facts, stack.enter_context(DigestsAhead()))
        side_a = _Side(path_a, facts, audio, stack)
        error_b: Exception | None = None
        try:
            side_b: _Side | None = _Side(path_b, facts, audio, stack)
        except Exception as exc:  # noqa: BLE001 - raised below, after A
            side_b, error_b = None, exc
        running = [side for side in (side_a, side_b) if side is not None]
        while running:
            for side in list(running):
                try:
                    more = side.turn(TURN_BYTES)
                except Exception as exc:
                    if side is side_a:
                        raise
                    more, error_b = False, exc
                if not more:
                    running.remove(side)
        if error_b is not None:
            raise error_b
        assert side_b is not None
        return side_a.result(), side_b.result()
