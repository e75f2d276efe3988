"""Small (cross-message compression) and crash-safe (chunks sealed by size and age)."""

from __future__ import annotations

import random
from pathlib import Path

from capture_helpers import header, load_golden_script, message, read_bytes, update_ustx, write_bytes, yaml_project
from utauproxy.capture import CaptureReader, CaptureWriter
from utauproxy.records import Direction, MarkRecord, MessageRecord, Record

MS = 1_000_000
REAL_WIRE = Path("/work/shared/real-wire/p6-linux/ou-to-plugin.bin")


def _editing_session(resends: int) -> list[Record]:
    """OpenUtau during an edit session: the whole project after every edit, plus chatter."""
    rng = random.Random(5)
    project = yaml_project(150_000, seed=1)
    assert 145_000 < len(project) < 155_000
    records: list[Record] = []
    for step in range(resends):
        ts = step * 700 * MS
        position = rng.randrange(len(project) - 8)
        project[position : position + 3] = str(rng.randrange(100, 999)).encode()
        records.append(message(ts, update_ustx(project)))
        records.append(message(ts + 1 * MS, b'notification:updateTracks {"tracks":[{"name":"Track 1","volume":0.0,"pan":0.0}]}'))
        request_id = f"{rng.getrandbits(128):032x}"
        records.append(message(ts + 2 * MS, f"request:{request_id}:updatePartLayout {{\"parts\":[]}}".encode()))
        records.append(message(ts + 3 * MS, f'response:{request_id} {{"success": true, "data": {{"missingAudios": []}}}}'.encode(), Direction.PLUGIN_TO_OU))
        if step % 7 == 0:
            records.append(message(ts + 4 * MS, b"notification:ping {}", Direction.PLUGIN_TO_OU))
    return records


def test_resent_projects_cost_under_two_percent_of_the_wire(tmp_path: Path) -> None:
    records = _editing_session(200)
    path = tmp_path / "session.utpcap"
    with CaptureWriter.create(path, header()) as writer:
        for record in records:
            writer.write(record)
    wire = writer.wire_bytes
    assert wire > 200 * 150_000
    assert path.stat().st_size / wire < 0.02, (path.stat().st_size, wire)
    with CaptureReader.open(path) as reader:
        assert list(reader.records()) == records


def test_deltas_pay_on_a_real_openutau_project() -> None:
    """The real P6 USTX (175 KB) resent with small edits stays below 1 % of the wire."""
    project = bytearray(REAL_WIRE.read_bytes().split(b"\n")[1])
    rng = random.Random(9)
    records: list[Record] = []
    for step in range(40):
        position = rng.randrange(2000, len(project) - 8)
        project[position : position + 2] = b"%02d" % rng.randrange(100)
        records.append(message(step * 2000 * MS, bytes(project)))
    data = write_bytes(records)
    assert len(data) / sum(len(r.raw) + 1 for r in records if isinstance(r, MessageRecord)) < 0.01
    assert read_bytes(data)[0] == records


def test_incompressible_payloads_are_not_stored_twice() -> None:
    """Audio-like random payloads: deltas never pay, so no key is ever copied and the file
    is no bigger than the payloads themselves."""
    rng = random.Random(2)
    records: list[Record] = [message(step * 10 * MS, b"notification:updateAudio " + rng.randbytes(30_000)) for step in range(40)]
    data = write_bytes(records)
    payload = sum(len(r.raw) for r in records if isinstance(r, MessageRecord))
    assert len(data) < payload * 1.01
    layout = load_golden_script().record_type_layout(data)
    assert 8 not in {t for chunk in layout for t in chunk}


def test_the_open_chunk_is_sealed_by_age(tmp_path: Path) -> None:
    path = tmp_path / "live.utpcap"
    writer = CaptureWriter.create(path, header(), chunk_max_age_ns=200 * MS)
    first: list[Record] = [MarkRecord(0, "one"), message(50 * MS, b"notification:ping {}")]
    for record in first:
        writer.write(record)
    after_header = writer.bytes_written
    writer.maybe_flush(199 * MS)
    assert writer.bytes_written == after_header, "younger than the age limit: still open"
    writer.maybe_flush(200 * MS)
    assert writer.bytes_written > after_header
    with CaptureReader.open(path) as live:
        assert list(live.records()) == first
        assert live.footer is None and live.damage == []
    writer.write(MarkRecord(300 * MS, "two"))
    writer.write(MarkRecord(600 * MS, "three"))  # 300 ms after "two": seals it on arrival
    with CaptureReader.open(path) as live:
        assert [r.text for r in live.records() if isinstance(r, MarkRecord)] == ["one", "two"]
    writer.close()
    with CaptureReader.open(path) as done:
        assert len(list(done.records())) == 4
        assert done.footer is not None and done.footer.records == 4


def test_a_record_bigger_than_the_chunk_limit_gets_its_own_chunk() -> None:
    small = [message(i, b"notification:ping {}") for i in range(3)]
    big = message(3, random.Random(1).randbytes(300_000))
    records: list[Record] = [*small, big, message(4, b"notification:ping {}")]
    data = write_bytes(records, chunk_max_bytes=64 << 10)
    records_out, reader = read_bytes(data)
    assert records_out == records
    assert reader.footer is not None
    assert [chunk.count for chunk in reader.footer.chunks] == [3, 1, 1]
