"""Pass 3's reading: the payloads of chosen messages, fetched again from both files with a
bounded amount held at once.

A job needs one message of A and one of B together. The jobs are served in rounds: read A
from the start, keeping what the pending jobs need of their A messages until `budget` bytes
are held; then read B and run each job of the round as its B message goes by. A round holds
at most `budget` bytes of A (plus one message) and one message of B, whatever the file
sizes; most diffs need one round. Reading is the streaming CaptureReader; nothing is decoded twice in
memory.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from utauproxy.capture.reader import CaptureReader
from utauproxy.inspect.decode import DecodedMessage, decode_records


@dataclass(frozen=True, slots=True)
class Job:
    """Run `run(part_a, raw_b)` with message `index_a` of A and `index_b` of B (record indexes,
    as in MessageSummary.index). `part_a` is A's raw bytes, or `take_a(raw)` when given: what
    the job needs of them (one audio entry of a long updateAudio line), so that only that is
    held while B is read."""

    index_a: int
    index_b: int
    run: Callable[[bytes, bytes], None]
    take_a: Callable[[bytes], bytes] | None = None


def message_bytes(path: Path, wanted: set[int]) -> Generator[tuple[int, bytes], None, None]:
    """(index, raw bytes) of the wanted messages of a capture, in file order. Long lines that
    the recorder stored in pieces are joined."""
    remaining = set(wanted)
    if not remaining:
        return
    with CaptureReader.open(path) as reader:
        # lazy_above=0: headers only; the jobs parse what they need.
        for item in decode_records(reader.records(), lazy_above=0):
            if isinstance(item, DecodedMessage) and item.index in remaining:
                remaining.discard(item.index)
                raw = item.records[0].raw if len(item.records) == 1 else b"".join(
                    record.raw for record in item.records)
                yield item.index, raw
                if not remaining:
                    return


def run_jobs(path_a: Path, path_b: Path, jobs: list[Job], budget: int) -> int:
    """Run every job whose two messages can be read; returns the number of rounds."""
    pending = sorted(jobs, key=lambda job: job.index_a)
    rounds = 0
    while pending:
        rounds += 1
        held = _hold(path_a, pending, budget)
        batch = [job for n, job in enumerate(pending) if n in held]
        parts = [held[n] for n in range(len(pending)) if n in held]
        pending = [job for n, job in enumerate(pending) if n not in held]
        if not batch:
            break  # A's remaining messages cannot be read (damage): nothing more to do
        by_b: dict[int, list[tuple[Job, bytes]]] = {}
        for job, part in zip(batch, parts, strict=True):
            by_b.setdefault(job.index_b, []).append((job, part))
        del held, parts
        with closing(message_bytes(path_b, set(by_b))) as messages_b:
            for index, raw_b in messages_b:
                for job, part in by_b.pop(index, []):
                    job.run(part, raw_b)
    return rounds


def _hold(path: Path, pending: list[Job], budget: int) -> dict[int, bytes]:
    """What the pending jobs (by position) need of A, in file order, until `budget` bytes."""
    by_index: dict[int, list[int]] = {}
    for n, job in enumerate(pending):
        by_index.setdefault(job.index_a, []).append(n)
    held: dict[int, bytes] = {}
    size = 0
    with closing(message_bytes(path, set(by_index))) as messages:
        for index, raw in messages:
            for n in by_index[index]:
                take = pending[n].take_a
                held[n] = take(raw) if take is not None else raw
                size += len(held[n])
            if size >= budget:
                break
    return held
