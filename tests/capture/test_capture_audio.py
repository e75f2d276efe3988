"""AUDIO records (format 1.1): audio stored decoded, each render a delta to the part's last.

Reading must give back every line exactly; damage costs what docs/capture-format.md §7a
promises; anything the writer cannot prove reproducible is stored as it was.
"""

from __future__ import annotations

import base64
import io
import random
import tracemalloc

import zstandard
from capture_helpers import (
    craft_chunk,
    craft_header,
    header,
    load_golden_script,
    read_bytes,
    records_cbor,
    write_bytes,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utauproxy.capture import CaptureReader, CaptureWriter
from utauproxy.capture.audio import MAX_CHAIN, AudioEncoder, rebuild_line
from utauproxy.capture.codec import AudioRecord
from utauproxy.capture.delta import BaseCache, Ids
from utauproxy.capture.layout import BlobForm
from utauproxy.capture.limits import DEFAULT_LIMITS
from utauproxy.records import ConnectionRecord, ConnEvent, Direction, MessageFlags, MessageRecord, Record

MS = 1_000_000
OU = Direction.OU_TO_PLUGIN


def render(seed: int, edits: int, size: int = 6000) -> bytes:
    """A stand-in for one render of a part: noise in which every edit changes 20 bytes."""
    data = bytearray(random.Random(seed).randbytes(size))
    for edit in range(edits):
        spot = random.Random(seed * 1000 + edit).randrange(size - 20)
        data[spot : spot + 20] = random.Random(edit).randbytes(20)
    return bytes(data)


def layout(conn: int, ts: int, parts: list[tuple[int, float, int]]) -> MessageRecord:
    items = ",".join(f'{{"trackNo":{t},"startMs":{s},"endMs":9000.0,"audioHash":{h}}}' for t, s, h in parts)
    return MessageRecord(ts, conn, OU, f'request:{ts}:updatePartLayout {{"parts":[{items}]}}'.encode())


def audio(conn: int, ts: int, *items: tuple[int, bytes]) -> MessageRecord:
    values = ",".join(f'"{key}":"{base64.b64encode(payload).decode()}"' for key, payload in items)
    return MessageRecord(ts, conn, OU, b'notification:updateAudio {"audios":{' + values.encode() + b"}}")


def editing_session(parts: int = 2, renders: int = 12, conn: int = 1) -> list[Record]:
    """Each step re-renders one part, announces the new layout, then sends the audio."""
    records: list[Record] = [ConnectionRecord(0, conn, ConnEvent.OPEN)]
    hashes = {part: part * 1000 for part in range(parts)}
    ts = MS
    for step in range(renders):
        part = step % parts
        hashes[part] += 1
        records.append(layout(conn, ts, [(p, 500.0 * p, h) for p, h in hashes.items()]))
        records.append(audio(conn, ts + 1, (hashes[part], render(part, step // parts))))
        ts += 120 * MS  # a few chunks apart at the writer's 200 ms age
    records.append(ConnectionRecord(ts, conn, ConnEvent.CLOSED))
    return records


def blob_forms(data: bytes) -> list[int]:
    structure = load_golden_script().structure(data)
    return [blob[1] for item in structure for record in item.get("records", []) if record[0] == 9
            for blob in record[6]]


def test_renders_of_a_part_are_stored_as_deltas_and_read_back_exactly() -> None:
    records = editing_session()
    data = write_bytes(records)
    back, reader = read_bytes(data)
    assert back == records and reader.damage == []
    forms = blob_forms(data)
    assert forms.count(BlobForm.KEY) == 2 and forms.count(BlobForm.DELTA) == 10
    wire = sum(len(r.raw) for r in records if isinstance(r, MessageRecord))
    assert len(data) < wire / 4  # as text every render would cost ~6 KB on disk


def test_a_payload_no_layout_names_is_stored_plainly() -> None:
    records = [audio(1, 1, (5, render(1, 0))), audio(1, 2, (5, render(1, 1)))]
    data = write_bytes(records)
    assert read_bytes(data)[0] == records
    assert blob_forms(data) == [BlobForm.PLAIN, BlobForm.PLAIN]


def test_lines_that_cannot_be_rebuilt_exactly_are_stored_as_they_were() -> None:
    good = base64.b64encode(render(2, 0, size=6001)).decode()
    assert good.endswith("==")
    lines = [
        good[:-3] + "B==",  # stray bits before the padding: decodes, but re-encodes differently
        good.replace("A", "-", 1),  # not the standard alphabet
        good[:1000] + "\n" + good[1000:],  # a line break inside
    ]
    records: list[Record] = [layout(1, 0, [(0, 0.0, 7)])]
    records += [MessageRecord(i + 1, 1, OU, b'notification:updateAudio {"audios":{"7":"' + text.encode() + b'"}}')
                for i, text in enumerate(lines)]
    data = write_bytes(records)
    assert read_bytes(data)[0] == records
    assert blob_forms(data) == []


def test_damage_costs_the_part_until_its_next_key_and_nothing_else() -> None:
    records = editing_session(parts=2, renders=8)
    data = bytearray(write_bytes(records, chunk_max_age_ns=1))  # a chunk per record
    footer = CaptureReader(io.BytesIO(bytes(data))).footer
    assert footer is not None and [chunk.count for chunk in footer.chunks] == [1] * len(records)
    data[footer.chunks[2].offset + 20] ^= 0xFF  # the chunk of part 0's key
    back, reader = read_bytes(bytes(data))
    part0 = [r for r in records[2::2] if isinstance(r, MessageRecord)][0::2]
    assert [r for r in records if r not in back] == part0  # its key and every delta after it
    assert len(reader.damage) == len(part0)  # the chunk, then each delta without its base
    assert all("base" in damage.reason for damage in reader.damage[1:])


def test_a_chain_takes_a_new_key_after_max_chain_deltas() -> None:
    records = editing_session(parts=1, renders=MAX_CHAIN + 3)
    forms = blob_forms(write_bytes(records))
    keys = [i for i, form in enumerate(forms) if form == BlobForm.KEY]
    assert keys[:2] == [0, MAX_CHAIN + 1]


def test_a_chain_takes_a_new_key_once_its_deltas_cost_as_much() -> None:
    # ...and small deltas add up to a key within a bounded number of renders.
    encoder = AudioEncoder(Ids())
    forms = []
    for step in range(40):
        encoder.note_layout(layout(1, step, [(0, 0.0, step)]))
        payload = render(9, step * 30, size=2000)  # 600 bytes changed per render
        encoded = encoder.encode(audio(1, step, (step, payload)))
        assert isinstance(encoded, AudioRecord)
        forms.append(encoded.blobs[0].form)
    assert BlobForm.DELTA in forms and forms.count(BlobForm.KEY) >= 3


def test_renders_that_share_nothing_back_off_to_plain_and_hold_no_base() -> None:
    records: list[Record] = []
    for i in range(14):
        records += [layout(1, 2 * i, [(0, 0.0, i)]), audio(1, 2 * i + 1, (i, random.Random(i).randbytes(3000)))]
    data = write_bytes(records)
    assert read_bytes(data)[0] == records
    key, plain = BlobForm.KEY, BlobForm.PLAIN
    # two misses in a row, then 8 renders stored plainly, then a try again that misses twice
    assert blob_forms(data) == [key, key, plain] + [plain] * 8 + [key, key, plain]


def test_evicted_bases_mean_keys_never_a_wrong_base() -> None:
    encoder = AudioEncoder(Ids(), max_base_bytes=10_000)  # room for one 6 KB base
    bases = BaseCache(DEFAULT_LIMITS)
    forms = []
    for record in editing_session(parts=3, renders=12):
        if not isinstance(record, MessageRecord):
            continue
        if record.raw.startswith(b"request:"):
            encoder.note_layout(record)
            continue
        encoded = encoder.encode(record)
        assert encoded is not None
        assert rebuild_line(encoded, bases) == record.raw
        forms += [blob.form for blob in encoded.blobs]
    assert forms == [BlobForm.KEY] * 12  # three parts take turns: each finds its base evicted


_B64 = st.binary(min_size=0, max_size=3000).map(lambda b: base64.b64encode(b).decode())
_VALUE = st.one_of(_B64, st.text(alphabet="AB+/=\\\"x ", max_size=40), _B64.map(lambda t: t[:-1]))
_KEY = st.one_of(st.integers(-(2**31), 2**32).map(str), st.text(max_size=6))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.lists(st.tuples(st.integers(0, 2), st.integers(-3, 3)), max_size=3),
                       st.lists(st.tuples(_KEY, _VALUE), max_size=3), st.sampled_from([0, 1, 4])), max_size=8),
    st.sampled_from(['{"audios":{', '{"audios": {', '{"x":1,"audios":{']),
)
def test_any_updateaudio_line_reads_back_exactly(steps, opening) -> None:  # type: ignore[no-untyped-def]
    records: list[Record] = []
    for i, (parts, items, flags) in enumerate(steps):
        records.append(layout(1, 2 * i * MS, [(t, 0.0, h) for t, h in parts]))
        body = ",".join(f'"{key}":"{value}"' for key, value in items)
        records.append(MessageRecord((2 * i + 1) * MS, 1, OU, ("notification:updateAudio " + opening + body + "}}").encode(),
                                     MessageFlags(flags)))
    assert read_bytes(write_bytes(records))[0] == records


def _crafted(*arrays: list[object]) -> tuple[list[Record], CaptureReader]:
    data = craft_header({"format_minor": 1}) + craft_chunk(records_cbor(*arrays), count=len(arrays))
    reader = CaptureReader(io.BytesIO(data))
    return list(reader.records()), reader


def test_hostile_audio_records_are_damage_alone_never_an_exception() -> None:
    frame = zstandard.ZstdCompressor(level=3).compress(b"x" * 3000)
    good = [9, 5, 1, 0, 0, b"ab", [[1, 0, b"\xff\xfe"]]]
    hostile = [
        [9, 1, 1, 0, 0, b"ab", [[3, 0, b"x"]]],  # `at` past the skeleton
        [9, 1, 1, 0, 0, b"ab", [[1, 0, b"x"], [0, 0, b"y"]]],  # `at` going back
        [9, 1, 1, 0, 0, b"ab", [[0, 7, b"x"]]],  # an unknown form
        [9, 1, 1, 0, 0, b"ab", [[0, 1, b"x"]]],  # a KEY without its stream
        [9, 1, 1, 0, 0, b"ab", [[0, 2, frame, 0, 0, 1, 3000]]],  # a DELTA with no base
        [9, 1, 1, 0, 0, b"ab", [[0, 0, b"x" * 10, "no"]]],  # extra elements are fine: see `good`
        [9, 1, 1, 0, 0, b"ab", "not a list"],
        [9, 1, 1, 0, 0, b"ab", [[0, 2, frame, 0, 0, 1, 1 << 40]]],  # expands past every limit
    ]
    records, reader = _crafted(*hostile, good)
    assert [r.raw for r in records if isinstance(r, MessageRecord)] == [b"eHh4eHh4eHh4eA==ab", b"a//4=b"]
    assert len(reader.damage) == len(hostile) - 1


def test_a_delta_needs_the_base_the_chain_left_not_an_older_one() -> None:
    key, second = b"k" * 2000, b"k" * 1990 + b"j" * 10
    to_second = zstandard.ZstdCompressor(
        dict_data=zstandard.ZstdCompressionDict(key, dict_type=zstandard.DICT_TYPE_RAWCONTENT)).compress(second)
    records, reader = _crafted(
        [9, 1, 1, 0, 0, b"", [[0, 1, key, 4, 10]]],
        [9, 2, 1, 0, 0, b"", [[0, 2, to_second, 4, 10, 11, len(second)]]],
        [9, 3, 1, 0, 0, b"", [[0, 2, to_second, 4, 10, 12, len(second)]]],  # base 10 is gone: 11 rolled in
    )
    assert [r.raw for r in records if isinstance(r, MessageRecord)] == [base64.b64encode(key), base64.b64encode(second)]
    assert len(reader.damage) == 1 and "base 10" in reader.damage[0].reason


BIG = random.Random(5).randbytes(17 << 20)  # decodes past the delta limit: streamed


def big_line(payload: bytes = BIG, key: int = 3) -> MessageRecord:
    return audio(1, 5 * MS, (key, payload))


def test_a_line_too_big_to_hold_decoded_is_streamed_into_a_stored_chunk(tmp_path) -> None:  # type: ignore[no-untyped-def]
    records = [layout(1, MS, [(0, 0.0, 3)]), big_line(), MessageRecord(6 * MS, 1, OU, b"notification:ping {}")]
    path = tmp_path / "big.utpcap"
    with CaptureWriter.create(path, header()) as writer:
        writer.write(records[0])
        tracemalloc.start()
        writer.write(records[1])
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        writer.write(records[2])
    assert peak < 16 << 20  # a few pieces at a time, never the 17 MiB payload (or its text)
    with CaptureReader.open(path) as reader:
        assert list(reader.records()) == records and reader.damage == []
        assert reader.footer is not None and [c.count for c in reader.footer.chunks] == [1, 1, 1]
    assert path.stat().st_size < len(BIG) + 100_000  # decoded: 3/4 of the text
    forms = blob_forms(path.read_bytes())
    assert forms == [BlobForm.PLAIN]


def test_a_streamed_line_that_fails_its_proof_late_is_stored_as_text() -> None:
    text = base64.b64encode(BIG[:-1]).decode()
    assert text.endswith("=")
    bad = MessageRecord(5 * MS, 1, OU, b'notification:updateAudio {"audios":{"3":"' + text[:-2].encode() + b'B="}}')
    records = [layout(1, MS, [(0, 0.0, 3)]), bad, audio(1, 7 * MS, (3, render(1, 0)))]
    data = write_bytes(records)
    back, reader = read_bytes(data)
    assert back == records and reader.damage == []
    assert blob_forms(data) == [BlobForm.KEY]  # the small one after it: no base moved before


def test_a_line_with_a_streamed_payload_moves_no_base() -> None:
    encoder = AudioEncoder(Ids())
    encoder.note_layout(layout(1, 0, [(0, 0.0, 3), (1, 0.0, 4)]))
    mixed = encoder.encode(audio(1, 1, (3, BIG), (4, render(2, 0))))
    assert mixed is not None and [b.form for b in mixed.blobs] == [BlobForm.PLAIN, BlobForm.PLAIN]
    after = encoder.encode(audio(1, 2, (4, render(2, 1))))
    assert after is not None and [b.form for b in after.blobs] == [BlobForm.KEY]
