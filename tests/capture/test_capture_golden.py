"""Golden files: every released format version must stay readable forever, and the writer
must not change the format by accident."""

from __future__ import annotations

import json

import pytest
import zstandard

from capture_helpers import GOLDEN, load_golden_script
from utauproxy.capture import CaptureReader, CaptureWriter
from utauproxy.errors import CaptureCorrupt, CaptureFormatTooNew

GOLDEN_V1_0 = GOLDEN / "capture-v1.0.utpcap"
EXPECTED_V1_0 = json.loads((GOLDEN / "capture-v1.0.json").read_text(encoding="utf-8"))
GOLDEN_V1_1 = GOLDEN / "capture-v1.1.utpcap"
EXPECTED_V1_1 = json.loads((GOLDEN / "capture-v1.1.json").read_text(encoding="utf-8"))
GOLDENS = [(GOLDEN_V1_0, EXPECTED_V1_0), (GOLDEN_V1_1, EXPECTED_V1_1)]


@pytest.mark.parametrize(("path", "expected_json"), GOLDENS, ids=["v1.0", "v1.1"])
def test_golden_reads_as_recorded(path, expected_json) -> None:  # type: ignore[no-untyped-def]
    """Never delete or regenerate these inputs: they are the compatibility promise."""
    golden = load_golden_script()
    expected = [golden.record_from_json(value) for value in expected_json["records"]]
    with CaptureReader.open(path) as reader:
        records = list(reader.records())
        assert reader.damage == []
        assert reader.skipped_unknown == 0
        header = reader.header
        footer = reader.footer
    assert records == expected
    want = expected_json["header"]
    assert (header.format_major, header.format_minor) == (want["format_major"], want["format_minor"])
    assert (header.writer, header.started_utc, header.host_os) == (want["writer"], want["started_utc"], want["host_os"])
    assert (header.dialect, header.note) == (want["dialect"], want["note"])
    assert (header.discovery, header.extra) == (want["discovery"], want["extra"])
    assert footer is not None
    assert footer.records == len(expected)
    assert footer.extra == {"golden": True}
    assert len(footer.chunks) == len(expected_json["record_types_per_chunk"])


def test_golden_v1_0_exercises_keys_deltas_and_base_copies_across_chunks() -> None:
    layout = EXPECTED_V1_0["record_types_per_chunk"]
    key_chunks = [i for i, types in enumerate(layout) if 6 in types]
    copy_chunks = [i for i, types in enumerate(layout) if 8 in types]
    delta_chunks = [i for i, types in enumerate(layout) if 7 in types]
    assert len(key_chunks) >= 2, "a superseded key and a new one"
    assert all(any(c > k for c in copy_chunks) for k in key_chunks)
    assert any(d > min(copy_chunks) for d in delta_chunks), "deltas after the copy's chunk"
    assert {0, 1, 2, 3, 4, 5} <= {t for types in layout for t in types}
    assert load_golden_script().record_type_layout(GOLDEN_V1_0.read_bytes()) == layout


def test_golden_v1_1_exercises_every_audio_blob_form() -> None:
    """Keys, a delta in the chunk of its base, one in a later chunk (no copy: the base
    rolls), a plain payload no layout names; lines that cannot be rebuilt stay messages."""
    audio = [record for item in EXPECTED_V1_1["structure"] for record in item.get("records", []) if record[0] == 9]
    forms = [blob[1] for record in audio for blob in record[6]]
    assert sorted(set(forms)) == [0, 1, 2]
    layout = EXPECTED_V1_1["record_types_per_chunk"]
    audio_chunks = [i for i, types in enumerate(layout) if 9 in types]
    assert len(audio_chunks) >= 2, "a delta whose base is in an earlier chunk"
    assert 8 not in {t for i in audio_chunks for t in layout[i][layout[i].index(9):]}
    lines = [r for r in EXPECTED_V1_1["records"] if r.get("raw_utf8", "").startswith("notification:updateAudio")]
    assert (len(lines), len(audio)) == (5, 3), "non-canonical base64 and a short value stay as they are"


def test_writer_output_is_unchanged(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Same input, same bytes. zstd's own output may legitimately change with libzstd; then
    everything but the zstd bytes must still be identical (and the golden file regenerated
    only after checking the decoded JSON is unchanged)."""
    golden = load_golden_script()
    path = tmp_path / "again.utpcap"
    golden.write_golden(path)
    data = path.read_bytes()
    if EXPECTED_V1_1["zstd_version"] == ".".join(map(str, zstandard.ZSTD_VERSION)):
        assert data == GOLDEN_V1_1.read_bytes()
    assert golden.structure(data) == EXPECTED_V1_1["structure"]


def test_golden_script_is_deterministic_and_current() -> None:
    golden = load_golden_script()
    assert golden.too_new_capture() == (GOLDEN / "capture-v2.0-claimed.utpcap").read_bytes()


def test_a_file_claiming_format_2_0_asks_for_an_upgrade() -> None:
    with pytest.raises(CaptureFormatTooNew) as caught:
        CaptureReader.open(GOLDEN / "capture-v2.0-claimed.utpcap")
    message = str(caught.value)
    assert "written by a newer utauproxy (format 2.0)" in message
    assert "upgrade utauproxy" in message
    assert "corrupt" not in message.lower()
    assert not isinstance(caught.value, CaptureCorrupt)


def test_writer_records_its_own_format_version(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from capture_helpers import header

    path = tmp_path / "v.utpcap"
    CaptureWriter.create(path, header(format_major=7, format_minor=3)).close()
    with CaptureReader.open(path) as reader:
        assert (reader.header.format_major, reader.header.format_minor) == (1, 1)
