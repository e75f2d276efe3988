"""Property tests of the framer: round trips over random streams and random cuts, and
arbitrary bytes never raising."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from proto_samples import feed, frame, rebuild, split_at, without_eos

from utauproxy.protocol import AudioFrame, Dialect, LinePiece, Malformed, Message

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
_json_containers = st.dictionaries(st.text(max_size=5), _json_values, max_size=3) | st.lists(
    _json_values, max_size=3
)
_kinds = st.sampled_from(["init", "updateUstx", "updatePartLayout", "ping", "x"])
_ids = st.uuids().map(str)
_headers = st.one_of(
    st.builds(lambda i, k: f"request:{i}:{k}", _ids, _kinds),
    st.builds(lambda i: f"response:{i}", _ids),
    st.builds(lambda k: f"notification:{k}", _kinds),
    st.sampled_from(["ping", "status", "init"]),
)


@st.composite
def _messages(draw: st.DrawFn) -> tuple[str, bytes]:
    header = draw(_headers)
    payload: Any = draw(_json_containers)
    separators = draw(st.sampled_from([(",", ":"), (", ", ": ")]))  # Newtonsoft / choc
    text = json.dumps(payload, separators=separators, ensure_ascii=draw(st.booleans()))
    return "message", f"{header} {text}\n".encode()


_frames = st.binary(max_size=64).map(lambda payload: ("frame", frame(payload)))
_garbage = st.binary(max_size=40).map(lambda raw: ("garbage", raw.replace(b"\n", b"") + b"\n"))
_items = st.lists(st.one_of(_messages(), _frames, _garbage), max_size=12)


@st.composite
def _cuts(draw: st.DrawFn, data: bytes) -> list[int]:
    return draw(st.lists(st.integers(0, len(data)), max_size=12))


@settings(max_examples=150, deadline=None)
@given(items=_items, tail=st.binary(max_size=20), data=st.data())
def test_round_trip_of_random_messages_frames_and_garbage(
    items: list[tuple[str, bytes]], tail: bytes, data: st.DataObject
) -> None:
    stream = b"".join(raw for _, raw in items) + tail.replace(b"\n", b"")
    whole = feed([stream], dialect=Dialect.V1_2)
    cut = feed(split_at(stream, data.draw(_cuts(stream))), dialect=Dialect.V1_2)
    assert cut == whole
    assert rebuild(whole) == stream
    events = without_eos(whole)
    terminated = [e for e in events if getattr(e, "terminated", True)]
    for (kind, raw), event in zip(items, terminated, strict=False):
        if kind == "message":
            assert isinstance(event, Message) and event.raw + b"\n" == raw
            assert event.json() == json.loads(raw.split(b" ", 1)[1])
        elif kind == "frame":
            assert isinstance(event, AudioFrame) and event.raw == raw


@settings(max_examples=300, deadline=None)
@given(
    stream=st.binary(max_size=300)
    | st.lists(st.sampled_from([b"audio 1 3\n", b"\n", b"\r", b" ", b"{}", b"close", b"\xff",
                                b"request:a:b ", b"audio 99999999999 1\n", b"x" * 9]),
               max_size=25).map(b"".join),
    dialect=st.sampled_from(list(Dialect)),
    validate=st.booleans(),
    max_line=st.sampled_from([1, 4, 16, 1 << 20]),
    data=st.data(),
)
def test_arbitrary_bytes_never_raise_and_are_all_reported(
    stream: bytes, dialect: Dialect, validate: bool, max_line: int, data: st.DataObject
) -> None:
    whole = feed([stream], dialect=dialect, validate=validate, max_line=max_line)
    cuts = split_at(stream, data.draw(_cuts(stream)))
    assert feed(cuts, dialect=dialect, validate=validate, max_line=max_line) == whole
    assert rebuild(whole) == stream
    for event in without_eos(whole):
        if isinstance(event, Malformed) and event.reason.startswith("frame cut short"):
            continue  # holds its header's LF; frames have their own 256 MiB cap
        if isinstance(event, Message | Malformed):
            assert b"\n" not in event.raw
        if isinstance(event, LinePiece | Message | Malformed):
            assert len(event.raw) <= max_line
