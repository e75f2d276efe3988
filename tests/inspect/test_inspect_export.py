"""`utauproxy export`: jsonl rows, the HAR-like document, and raw streams that rebuild the
original bytes exactly."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from click.testing import CliRunner

from inspect_captures import ID_FAILING, ID_LAYOUT, showcase_session, v1_2_session, write_capture
from inspect_real_wire import REAL_WIRE, real_stream, real_wire_records
from utauproxy.cli.export import export
from utauproxy.records import MessageRecord


def _export(*args: str | Path) -> str:
    result = CliRunner().invoke(export, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def test_jsonl_one_row_per_record_with_parsed_payloads(tmp_path: Path) -> None:
    records = showcase_session()
    path = write_capture(tmp_path / "s.utpcap", records)
    rows = [json.loads(line) for line in _export(path, "--format", "jsonl").splitlines()]
    assert len(rows) == len(records)
    assert [row["index"] for row in rows] == list(range(len(records)))
    layout = next(r for r in rows if r["type"] == "response" and r["id"] == ID_LAYOUT)
    assert layout["kind"] == "updatePartLayout" and layout["latency_ns"] == 2_000_000
    assert layout["payload"]["data"]["missingAudios"]
    malformed = next(r for r in rows if r["type"] == "malformed")
    assert "not JSON" in malformed["problem"]
    assert base64.b64decode(malformed["raw_b64"]) == b'notification:updateTracks {"tracks":[}\n'
    gap = next(r for r in rows if r["type"] == "gap")
    assert gap["details"]["lost_messages"] == 2


def test_jsonl_with_raw_rebuilds_every_byte(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "real.utpcap", real_wire_records())
    rows = [json.loads(line) for line in _export(path, "--format", "jsonl", "--with-raw").splitlines()]
    for direction, name in (("ou>plugin", "ou-to-plugin"), ("plugin>ou", "plugin-to-ou")):
        rebuilt = b"".join(base64.b64decode(r["raw_b64"]) for r in rows if r["dir"] == direction)
        assert rebuilt == real_stream(name)


def test_har_like_pairs_requests_with_responses(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "s.utpcap", showcase_session())
    document = json.loads(_export(path, "--format", "har-like"))
    entries = document["log"]["entries"]
    assert document["log"]["version"] == "1.2"
    layout = next(e for e in entries if e["request"]["url"] == "utau://ou>plugin/updatePartLayout")
    assert layout["response"]["status"] == 200 and layout["time"] == 2.0
    assert layout["startedDateTime"] == "2025-08-11T10:00:01.030Z"
    assert json.loads(layout["response"]["content"]["text"])["data"]["missingAudios"]
    failed = next(e for e in entries if ID_FAILING in json.dumps(e["request"]["headers"]))
    assert failed["response"]["status"] == 500 and failed["response"]["statusText"] == "Unknown request type"
    methods = {e["request"]["method"] for e in entries}
    assert {"REQUEST", "NOTIFICATION", "INVALID", "RESPONSE"} <= methods  # RESPONSE: the orphan
    messages = [r for r in showcase_session() if isinstance(r, MessageRecord)]
    responses_paired = sum(1 for e in entries if e["response"]["status"] in (200, 500))
    assert len(entries) == len(messages) - responses_paired


def test_har_like_without_bodies_and_with_frames(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "v12.utpcap", v1_2_session())
    entries = json.loads(_export(path, "--format", "har-like", "--no-bodies"))["log"]["entries"]
    assert all(e["request"]["postData"]["text"] == "" for e in entries)
    frames = [e for e in entries if e["request"]["method"] == "FRAME"]
    assert len(frames) == 2 and all(e["request"]["bodySize"] > 300_000 for e in frames)


def test_raw_streams_are_byte_exact_with_an_index(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "real.utpcap", real_wire_records())
    out = tmp_path / "streams"
    _export(path, "--format", "raw", "-o", out)
    for name in ("ou-to-plugin", "plugin-to-ou"):
        assert (out / f"conn1.{name}.bin").read_bytes() == (REAL_WIRE / f"{name}.bin").read_bytes()
    rows = [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]
    assert len(rows) == 14
    for row in rows:
        data = (out / row["file"]).read_bytes()[row["off"] : row["off"] + row["len"]]
        assert data.endswith(b"\n")
    assert rows[0]["t_ns"] == 1042268862 and rows[0]["dir"] == "ou-to-plugin"


def test_raw_refuses_to_overwrite(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "real.utpcap", real_wire_records())
    _export(path, "--format", "raw")
    assert (tmp_path / "real.raw" / "index.jsonl").exists()
    again = CliRunner().invoke(export, [str(path), "--format", "raw"])
    assert again.exit_code == 2 and "--force" in again.output
    assert CliRunner().invoke(export, [str(path), "--format", "raw", "--force"]).exit_code == 0


def test_output_file_and_refusal(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "v12.utpcap", v1_2_session())
    target = tmp_path / "out.jsonl"
    _export(path, "--format", "jsonl", "-o", target)
    assert len(target.read_text().splitlines()) == len(v1_2_session())
    assert CliRunner().invoke(export, [str(path), "--format", "jsonl", "-o", str(target)]).exit_code == 2
