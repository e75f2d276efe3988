"""The framer, h11 test_io style: every sample, however it is cut, gives the same events,
and the events give back the exact bytes."""

from __future__ import annotations

import pytest
from proto_samples import (
    MALFORMED_LINES,
    MALFORMED_REASONS,
    OU_TO_PLUGIN,
    PLUGIN_TO_OU,
    SAMPLES,
    SECTION_2_1,
    V1_2_STREAM,
    every,
    feed,
    frame,
    real_chunks,
    rebuild,
    without_eos,
)

from utauproxy.protocol import (
    NEED_DATA,
    AudioFrame,
    Dialect,
    EndOfStream,
    Framer,
    HeaderType,
    LinePiece,
    Malformed,
    Message,
)

SAMPLE_IDS = list(SAMPLES)
# Samples whose last byte is an LF (or that are empty): data appended cannot merge into them.
CLOSED_SAMPLE_IDS = [n for n, (s, _) in SAMPLES.items() if not s or s.endswith(b"\n")]


@pytest.mark.parametrize("name", SAMPLE_IDS)
@pytest.mark.parametrize("validate", [True, False])
def test_events_do_not_depend_on_how_the_stream_is_cut(name: str, validate: bool) -> None:
    stream, dialect = SAMPLES[name]
    whole = feed([stream], dialect=dialect, validate=validate)
    assert feed(every(stream, 1), dialect=dialect, validate=validate) == whole
    assert feed(every(stream, 7), dialect=dialect, validate=validate) == whole
    assert feed(every(stream, 65536), dialect=dialect, validate=validate) == whole
    assert rebuild(whole) == stream
    assert isinstance(whole[-1], EndOfStream)


@pytest.mark.parametrize("direction", [OU_TO_PLUGIN, PLUGIN_TO_OU])
def test_real_tcp_read_boundaries_give_the_same_events(direction: str) -> None:
    chunks = real_chunks(direction)
    assert feed(chunks) == feed([b"".join(chunks)])


@pytest.mark.parametrize("name", CLOSED_SAMPLE_IDS)
def test_trailing_data_does_not_change_the_events_before_it(name: str) -> None:
    stream, dialect = SAMPLES[name]
    trailing = b"notification:ping {}\nnotification:upd"
    events = without_eos(feed([stream + trailing], dialect=dialect))
    alone = without_eos(feed([stream], dialect=dialect))
    assert events[: len(alone)] == alone
    assert events[len(alone) :] == feed([trailing])[:-1]


def test_section_2_1_examples_are_byte_exact_messages() -> None:
    init, response, ping = without_eos(feed([SECTION_2_1]))
    assert isinstance(init, Message) and len(init.raw) + 1 == 53
    assert (init.header.type, init.header.kind) == (HeaderType.REQUEST, "init")
    assert init.header.id == "6f1c2d3e-0a4b-4c5d-9e8f-001122334455"
    assert isinstance(response, Message) and len(response.raw) + 1 == 86
    assert response.header.id == init.header.id
    assert response.json() == {"success": True, "data": {"ustx": ""}}
    assert isinstance(ping, Message) and ping.header.label == "notification:ping"


@pytest.mark.parametrize("kind", list(MALFORMED_LINES))
def test_each_malformed_kind_is_an_event_with_a_reason(kind: str) -> None:
    line = MALFORMED_LINES[kind]
    (event,) = without_eos(feed([line]))
    assert isinstance(event, Malformed), event
    assert MALFORMED_REASONS[kind] in event.reason
    assert event.raw + b"\n" == line and event.terminated


def test_malformed_events_keep_the_header_when_it_parses() -> None:
    bad_json, no_kind, long_header = without_eos(
        feed([MALFORMED_LINES["not json"], MALFORMED_LINES["request without kind"],
              MALFORMED_LINES["long header"]])
    )
    assert isinstance(bad_json, Malformed) and bad_json.header is not None
    assert bad_json.header.label == "notification:ping"
    assert isinstance(no_kind, Malformed) and no_kind.header is not None
    assert no_kind.header.type is HeaderType.REQUEST and no_kind.header.kind is None
    assert isinstance(long_header, Malformed) and long_header.header is None


def test_validated_messages_carry_their_parsed_json() -> None:
    (message,) = without_eos(feed([b'notification:x {"bel": "\\a", "jp": "\\u3042"}\n']))
    assert isinstance(message, Message)
    assert message._json_cache == [{"bel": "\x07", "jp": "\u3042"}]


def test_without_validation_only_framing_header_space_and_cr_are_checked() -> None:
    stream = (b"foo 123\n" + MALFORMED_LINES["invalid utf8"] + MALFORMED_LINES["not json"]
              + b"request:1 {}\n" + b"ping\n" + b"notification:ping {}\r\n")
    events = without_eos(feed([stream], validate=False))
    assert [type(e) for e in events] == [Message] * 4 + [Malformed] * 2
    assert all(not e._json_cache for e in events if isinstance(e, Message))
    with pytest.raises(ValueError):
        events[2].json()  # type: ignore[union-attr]
    (lazy,) = without_eos(feed([b'notification:a {"x": [1]}\n'], validate=False))
    assert isinstance(lazy, Message) and lazy.json() == {"x": [1]}


def test_only_a_bare_close_line_is_a_close() -> None:
    close, close_payload = without_eos(feed([b"close\nclose {}\n"]))
    assert isinstance(close, Message) and close.header.type is HeaderType.CLOSE
    assert isinstance(close_payload, Message) and close_payload.header.type is HeaderType.OTHER


def test_pre_p2_lines_are_messages_with_other_headers() -> None:
    ping, status = without_eos(feed([b'ping {}\nstatus {"ustx":"","mixes":[]}\n']))
    assert isinstance(ping, Message) and ping.header.type is HeaderType.OTHER
    assert ping.header.label == "other:ping"
    assert isinstance(status, Message) and status.header.label == "other:status"


# -- API v1.2 frames ----------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", [Dialect.V1_2, Dialect.AUTO])
def test_frames_take_exactly_length_bytes_whatever_they_contain(dialect: Dialect) -> None:
    payload = b"\n\n\x00audio 1 2\nnotification:ping {}\n"
    events = without_eos(feed([V1_2_STREAM], dialect=dialect))
    assert [type(e) for e in events] == [Message, AudioFrame, Message, AudioFrame,
                                         AudioFrame, Message]
    first = events[1]
    assert isinstance(first, AudioFrame)
    assert (first.hash, first.length, first.payload) == (42, len(payload), payload)
    assert first.raw[: first.header_len] == b"audio 42 %d" % len(payload)
    empty, lf_only = events[3], events[4]
    assert isinstance(empty, AudioFrame) and empty.payload == b"" and empty.raw == b"audio 12345 0\n"
    assert isinstance(lf_only, AudioFrame) and lf_only.payload == b"\n"


def test_line_dialect_treats_audio_lines_as_ordinary_lines() -> None:
    events = without_eos(feed([frame(b"a\nb", 1)], dialect=Dialect.LINE, validate=False))
    assert [e.raw for e in events] == [b"audio 1 3", b"a", b"b"]
    assert isinstance(events[0], Message) and events[0].header.type is HeaderType.OTHER


def test_hash_and_length_limits_of_frame_headers() -> None:
    biggest = b"audio 18446744073709551615 268435456\n"
    framer = Framer()
    framer.receive_data(biggest)
    assert framer.next_event() is NEED_DATA
    assert framer.buffered == len(biggest)


def test_a_cut_frame_is_malformed_and_keeps_its_bytes() -> None:
    stream = b"audio 7 10\nabc"
    (event,) = without_eos(feed(every(stream, 1)))
    assert isinstance(event, Malformed) and not event.terminated
    assert event.reason == "frame cut short: got 3 of 10 bytes"
    assert event.raw == stream


def test_a_frame_header_cut_before_its_lf_is_malformed() -> None:
    (event,) = without_eos(feed([b"audio 7 10"]))
    assert isinstance(event, Malformed) and not event.terminated and event.raw == b"audio 7 10"


def test_frame_payloads_are_not_scanned_for_lf() -> None:
    payload = b"\x00" * 1_000_000
    framer = Framer()
    for chunk in every(frame(payload), 4096):
        framer.receive_data(chunk)
        list(framer)
    assert framer.scanned == len(b"audio 12345 1000000\n")


# -- long lines ---------------------------------------------------------------------------------


def test_lines_longer_than_the_limit_come_as_pieces() -> None:
    stream = b"x" * 25 + b"\nshort 1\n" + b"y 23456789" + b"\n" + b"z" * 11
    events = without_eos(feed([stream], max_line=10, validate=False))
    pieces = [(type(e).__name__, e.raw, getattr(e, "final", None)) for e in events]
    assert pieces == [
        ("LinePiece", b"x" * 10, False),
        ("LinePiece", b"x" * 10, False),
        ("LinePiece", b"x" * 5, True),
        ("Message", b"short 1", None),
        ("Message", b"y 23456789", None),  # exactly the limit: still one line
        ("LinePiece", b"z" * 10, False),
        ("LinePiece", b"z", True),
    ]
    assert isinstance(events[-1], LinePiece) and not events[-1].terminated
    assert rebuild(events) == stream
    for size in (1, 3, 10, 11):
        assert without_eos(feed(every(stream, size), max_line=10, validate=False)) == events


def test_the_final_piece_of_a_long_line_may_be_as_long_as_the_limit() -> None:
    events = without_eos(feed([b"x" * 20 + b"\n" + b"y" * 20], max_line=10))
    finals = [e for e in events if isinstance(e, LinePiece) and e.final]
    assert [(f.raw, f.terminated) for f in finals] == [(b"x" * 10, True), (b"y" * 10, False)]
    assert len(events) == 4
    assert rebuild(events) == b"x" * 20 + b"\n" + b"y" * 20


def test_memory_stays_bounded_by_the_line_limit() -> None:
    framer = Framer(max_line=1000)
    for _ in range(200):
        framer.receive_data(b"a" * 999)
        assert all(isinstance(e, LinePiece) for e in framer)
        assert framer.buffered <= 1000 + 999


def test_scanning_is_linear_on_a_100_mb_line_in_64_kib_pieces() -> None:
    piece = b"A" * 65536
    framer = Framer(validate=False)
    prefix = b'notification:updateAudio {"audios":{"1":"'
    framer.receive_data(prefix)
    total = len(prefix)
    for _ in range(100 * 1024 * 1024 // len(piece)):
        framer.receive_data(piece)
        total += len(piece)
        assert framer.next_event() is NEED_DATA
    framer.receive_data(b'"}}\n')
    total += 4
    event = framer.next_event()
    assert isinstance(event, Message) and len(event.raw) == total - 1
    assert framer.scanned <= total + 16
    assert framer.buffered == 0


# -- end of stream ------------------------------------------------------------------------------


def test_end_of_stream_reports_the_partial_line_then_ends_once() -> None:
    framer = Framer()
    framer.receive_data(b'notification:ping {}\nnotification:ping {"a"')
    assert isinstance(framer.next_event(), Message)
    assert framer.next_event() is NEED_DATA
    assert framer.buffered == len(b'notification:ping {"a"')
    framer.receive_data(b"")
    framer.receive_data(b"")  # a second EOF is harmless
    partial = framer.next_event()
    assert isinstance(partial, Malformed) and not partial.terminated
    assert isinstance(framer.next_event(), EndOfStream)
    assert [framer.next_event() for _ in range(3)] == [NEED_DATA] * 3
    with pytest.raises(RuntimeError):
        framer.receive_data(b"x")


def test_an_unterminated_valid_line_is_a_message_without_lf() -> None:
    (event,) = without_eos(feed([b"notification:ping {}"]))
    assert isinstance(event, Message) and not event.terminated


def test_an_empty_line_is_malformed_not_dropped() -> None:
    events = without_eos(feed([b"\n\n"]))
    assert events == [Malformed(raw=b"", reason="empty line")] * 2


def test_a_crlf_close_is_not_a_close() -> None:
    (event,) = without_eos(feed([b"close\r\n"]))
    assert isinstance(event, Malformed) and event.header is not None
    assert (event.header.type, event.header.text) == (HeaderType.OTHER, "close")


def test_invalid_utf8_reasons_give_the_byte_offset_in_the_line() -> None:
    in_payload, in_header = without_eos(feed([b'notification:a {"a": "\xff"}\nno\xfe {}\n']))
    assert isinstance(in_payload, Malformed) and in_payload.reason == "invalid UTF-8 at byte 22"
    assert isinstance(in_header, Malformed) and in_header.reason == "invalid UTF-8 at byte 2"


def test_a_line_limit_below_one_byte_is_refused() -> None:
    with pytest.raises(ValueError):
        Framer(max_line=0)
