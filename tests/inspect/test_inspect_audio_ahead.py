"""Reading ahead changes when audio is digested, never what comes out: the same records in
the same order, the same digests and the same error words as digesting on demand."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from inspect_captures import OU, SAMPLES, fixed_header, p6_session, read_back, tone, write_capture
from utauproxy.check.engine import check_records
from utauproxy.inspect import audio as inspect_audio
from utauproxy.inspect.ahead import with_audio_ahead
from utauproxy.inspect.audio import DigestsAhead, audio_digest
from utauproxy.protocol.audio import digest_audio_payload, encode_audio_payload, signed_xxh32
from utauproxy.records import MessageRecord, Record

MS = 1_000_000


def _audio_records(count: int) -> list[Record]:
    """`count` updateAudio lines, each with two payloads (one of them broken in line 3)."""
    records: list[Record] = []
    for n in range(count):
        # Noise, so the payloads are long enough to be digested ahead; and a pure tone.
        samples = [random.Random(n).randbytes(8 * (4000 + 100 * n)), tone(2 * 3000, 90 + n)]
        audios = {str(signed_xxh32(s)): encode_audio_payload(s, "zstd") for s in samples}
        if n == 3:
            key = next(iter(audios))
            audios[key] = audios[key][:-10] + "!" + audios[key][-9:]
        raw = b"notification:updateAudio " + json.dumps({"audios": audios}).encode()
        records.append(MessageRecord(n * MS, 1, OU, raw))
        records.append(MessageRecord(n * MS + 1, 1, OU, b"notification:ping {}"))
    return records


def _fresh_cache() -> None:
    inspect_audio._digests.clear()


def test_records_come_out_unchanged_and_in_order() -> None:
    records = _audio_records(12)
    assert list(with_audio_ahead(iter(records))) == records
    assert list(with_audio_ahead(iter([]))) == []


def test_digests_done_ahead_are_the_ones_done_on_demand(monkeypatch: pytest.MonkeyPatch) -> None:
    records = _audio_records(8)
    values = [v for r in records if isinstance(r, MessageRecord) and b"audios" in r.raw
              for v in json.loads(r.raw.split(b" ", 1)[1])["audios"].values()]
    assert sum(len(v) > 4096 for v in values) == 8
    _fresh_cache()
    expected = [audio_digest(v) for v in values]
    assert any(isinstance(d, str) for d in expected)  # the broken one: its error words
    _fresh_cache()
    worked: list[int] = []
    digest_or_none = inspect_audio._digest_or_none
    monkeypatch.setattr(inspect_audio, "_digest_or_none", lambda text: worked.append(1) or digest_or_none(text))
    got = []
    for record in with_audio_ahead(iter(records)):
        if isinstance(record, MessageRecord) and b"audios" in record.raw:
            got += [audio_digest(v) for v in json.loads(record.raw.split(b" ", 1)[1])["audios"].values()]
    assert got == expected
    assert worked  # some were done on the worker threads


def test_nothing_is_left_running_or_pending_after_the_window_closes() -> None:
    _fresh_cache()
    records = _audio_records(6)
    stream = with_audio_ahead(iter(records))
    next(stream)  # digests started, none asked for
    stream.close()
    assert inspect_audio._ahead is None
    # Asked for afterwards: decoded on demand, the same as ever.
    value = json.loads(records[0].raw.split(b" ", 1)[1])["audios"]  # type: ignore[union-attr]
    for text in value.values():
        assert audio_digest(text) == digest_audio_payload(text)


def test_a_digest_never_asked_for_does_not_block_or_leak() -> None:
    _fresh_cache()
    payload = encode_audio_payload(SAMPLES[0], "zstd").encode()
    with DigestsAhead(threads=1, in_flight=1) as ahead:
        for n in range(50):  # far more than in flight: the rest is simply not started
            ahead.start(memoryview(payload + b"A" * 4 * n))
    assert inspect_audio._ahead is None


def test_check_through_the_window_finds_what_it_finds_without(tmp_path: Path) -> None:
    records = p6_session()
    index = next(i for i, r in enumerate(records) if isinstance(r, MessageRecord) and b"updateAudio" in r.raw)
    broken = records[index]
    assert isinstance(broken, MessageRecord)
    audios = json.loads(broken.raw.split(b" ", 1)[1])["audios"]
    key = next(iter(audios))
    noise = encode_audio_payload(random.Random(5).randbytes(40_000), "zstd")  # long enough to go ahead
    audios[key] = noise[:-6] + "!" + noise[-5:]  # and not base64
    records[index] = MessageRecord(broken.ts_ns, broken.conn, broken.direction,
                                   b"notification:updateAudio " + json.dumps({"audios": audios}).encode())
    header, stored = read_back(write_capture(tmp_path / "c.utpcap", records, fixed_header()))
    _fresh_cache()
    plain = check_records(stored, header=header)
    _fresh_cache()
    ahead = check_records(with_audio_ahead(iter(stored)), header=header)
    assert [f.render() for f in ahead.findings] == [f.render() for f in plain.findings]
    assert "audio-undecodable" in {f.rule for f in plain.findings}
