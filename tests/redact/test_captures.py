"""Every sample capture redacts; damaged lines and arbitrary bytes never crash or leak."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utauproxy.capture.reader import CaptureReader
from utauproxy.peers.project import generate_project
from utauproxy.records import ConnectionRecord, DiscoveryRecord, MessageFlags, MessageRecord

from .helpers import message, redactor, secrets_of, surviving, update_tracks, update_ustx

CAPTURES = sorted((Path(__file__).parents[2] / "captures").glob("sample-*.utpcap"))
SAMPLE_SEED = 577090037  # scripts/make_sample_captures.py's project ("デモ曲 577090037")


@pytest.mark.parametrize("path", CAPTURES, ids=[p.stem for p in CAPTURES])
def test_sample_capture_redacts_without_leaks(path: Path) -> None:
    secrets = secrets_of(generate_project(SAMPLE_SEED)) | {"Demo Vocal"}
    red = redactor()
    with CaptureReader.open(path) as reader:
        header = red.header(reader.header)
        originals = list(reader.records())
    redacted = list(red.records(originals))
    assert len(redacted) == len(originals)
    parts = [repr(header).encode()]
    for before, after in zip(originals, redacted, strict=True):
        assert type(before) is type(after) and before.ts_ns == after.ts_ns
        if isinstance(after, MessageRecord) and after.flags & MessageFlags.FRAME:
            head, _, payload = after.raw.partition(b"\n")
            assert payload == bytes(len(payload))  # v1.2 audio: zeros (searched apart: big)
            parts.append(head)
        else:
            parts.append(after.raw if isinstance(after, MessageRecord) else repr(after).encode())
    lines = [r.raw for r in originals if isinstance(r, MessageRecord)
             and not r.flags & MessageFlags.FRAME]
    assert surviving(b"".join(lines), secrets)
    assert surviving(b"\n".join(parts), secrets) == set()
    manifest = red.manifest()
    assert manifest["rules"]["lyrics"]["changed"] > 0
    assert manifest["rules"]["discovery"]["changed"] > 0
    assert manifest["fallbacks"] == 0
    assert any(isinstance(r, DiscoveryRecord) for r in redacted)
    opens = [r for r in redacted if isinstance(r, ConnectionRecord) and r.detail.get("entry_name")]
    assert all(r.detail["entry_name"].startswith("name-") for r in opens)


def test_cut_write_with_glued_ping_is_redacted() -> None:
    # PROTOCOL.md §6.1: a response cut inside the ustx string, the next ping glued on.
    project = generate_project(3)
    red = redactor()
    red.record(message(update_ustx(project)))  # the names are known from now on
    full = b'response:6f1c2d3e-0a4b-4c5d-9e8f-001122334455 {"success": true, "data": {"ustx": "name: '
    cut = full + project.name.encode() + b"\\ncomment: \\\"\\\"\\noutput_dir: Vo" + b"notification:ping {}"
    out = red.record(message(cut)).raw
    assert project.name.encode() not in out
    assert out.startswith(b"response:6f1c2d3e-0a4b-4c5d-9e8f-001122334455 ")


def test_malformed_lines_are_scrubbed_not_passed() -> None:
    project = generate_project(3)
    red = redactor()
    red.record(message(update_tracks(project)))
    name = project.tracks[1].track_name
    for raw in (f"garbage {name} here".encode(), f"{{tracks: [{name}]}}".encode(),
                f"status{name}".encode(), b"\xff\xfe" + name.encode() + b"\x00"):
        out = red.record(message(raw)).raw
        assert name.encode() not in out, raw
    assert red.record(message(b"\xff\xfe not utf8 \xc3")).raw == b"\xff\xfe not utf8 \xc3"


def test_continued_pieces_are_redacted_as_one_line() -> None:
    project = generate_project(5)
    raw = update_ustx(project)
    cuts = [0, 1000, 1003, 50_000, len(raw)]
    pieces = [MessageRecord(i, 1, 0, raw[a:b],  # type: ignore[arg-type]
                            MessageFlags.CONTINUED if b < len(raw) else MessageFlags.NONE)
              for i, (a, b) in enumerate(zip(cuts, cuts[1:], strict=False))]
    notice_between = ConnectionRecord(2, 2, "open")  # type: ignore[arg-type]
    stream = pieces[:2] + [notice_between] + pieces[2:]
    red = redactor()
    out = list(red.records(stream))
    assert [type(r) for r in out] == [type(r) for r in stream]
    assert [r.ts_ns for r in out] == [r.ts_ns for r in stream]
    joined = b"".join(r.raw for r in out if isinstance(r, MessageRecord))
    assert joined == redactor().record(message(raw)).raw
    assert [r.flags for r in out if isinstance(r, MessageRecord)] == [p.flags for p in pieces]
    assert surviving(joined, secrets_of(project)) == set()


SECRETS = ("Zephyrine", "秘密の歌詞", "/home/alice/Songs/secret.ustx", "alice", "Mk-Secret 7")


def _seeded_redactor():  # type: ignore[no-untyped-def]
    red = redactor()
    body = ('{"tracks":[{"name":"Zephyrine","volume":0.0,"pan":0.0},'
            '{"name":"Mk-Secret 7","volume":0.0,"pan":0.0}]}')
    red.record(message(b"notification:updateTracks " + body.encode()))
    ustx = "lyric: 秘密の歌詞\\noutput_dir: /home/alice/Songs/secret.ustx\\n"
    red.record(message(b'notification:updateUstx {"ustx":"' + ustx.encode() + b'"}'))
    return red


_pieces = st.one_of(st.binary(max_size=40), st.sampled_from([s.encode() for s in SECRETS]),
                    st.sampled_from([b'"', b"{", b"}", b"[", b"]", b":", b",", b"\\", b" ",
                                     b'"ustx":"', b'"name":"', b'"audios":{"1":"', b"\\n",
                                     b"notification:updateUstx ", b"audio 1 3\n"]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_pieces, max_size=25), st.sampled_from(list(MessageFlags)))
def test_arbitrary_bytes_never_crash_or_leak_seeded_secrets(parts: list[bytes],
                                                           flags: MessageFlags) -> None:
    red = _seeded_redactor()
    raw = b"".join(parts)
    out = red.record(MessageRecord(0, 1, 0, raw, flags))  # type: ignore[arg-type]
    assert isinstance(out, MessageRecord)
    for secret in SECRETS:
        # Short ASCII values are replaced as whole words only (docs/redaction.md).
        bound = rb"(?<![A-Za-z0-9])" if secret.isascii() and len(secret) < 6 else b""
        end = rb"(?![A-Za-z0-9])" if bound else b""
        assert not re.search(bound + re.escape(secret.encode()) + end, out.raw), (raw, out.raw)
    assert red.manifest()["fallbacks"] == 0
