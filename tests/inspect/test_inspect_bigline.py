"""Big lines validated without parsing their base64 strings must come out exactly as the
framer's own validation makes them: same event type, same reason, same parsed value."""

from __future__ import annotations

import base64
import os

import pytest

from utauproxy.inspect.bigline import LONG_STRING, validated_big_line
from utauproxy.protocol.events import Dialect, Malformed, Message
from utauproxy.protocol.framer import classify_line

_B64 = base64.b64encode(os.urandom(LONG_STRING)).decode("ascii")


def _line(payload: str, head: str = "notification:updateAudio") -> bytes:
    return f"{head} {payload.replace('<B64>', _B64)}".encode("utf-8", "surrogatepass")


_LINES = [
    _line('{"audios": {"1": "<B64>", "-2": "<B64>"}}'.replace("<B64>", _B64, 1).replace("<B64>", _B64[:-4])),
    _line('{"audios": {"1": "<B64>"}, "n": 1E+16, "s": "\\a"}'),
    _line('[ "<B64>" , {"x": ["<B64>"]} ]'),
    _line('{"a": "<B64>", "a": 1}'),  # the long string is overwritten by a repeated key
    _line('{"<B64>": 1}'),  # a long key
    _line('{"a": "<B64>" "b"}'),  # not JSON
    _line('{"a": "<B64>"'),  # cut short
    _line('"<B64>"'),  # not an object or array
    _line('{"a": "<B64>\\n"}'),  # an escape: not taken
    _line('{"a": "<B64>\x01"}'),  # a control character: the framer rejects it
    _line('{"a": "<B64>é"}'),  # not ASCII
    _line('{"a": "\\u0000x", "b": "<B64>"}'),
    _line('{"a": "<B64>"}', head="request:1"),  # a request without a kind
    _line('{"a": "<B64>"}\r'),
    _line('{"a": "<B64>\\"}'),  # the closing quote is escaped
    _line('{"a": "<B64>", "b": [NaN, Infinity]}'),
]


@pytest.mark.parametrize("raw", _LINES)
def test_same_verdict_as_the_framer(raw: bytes) -> None:
    expected = classify_line(raw, terminated=True, validate=True, dialect=Dialect.LINE)
    quick = validated_big_line(raw, terminated=True, dialect=Dialect.LINE)
    if quick is None:
        return  # the caller asks the framer
    assert isinstance(expected, Message), f"took a line the framer rejects: {expected}"
    assert quick == expected
    assert quick.json() == expected.json()


def test_the_usual_audio_line_takes_the_shortcut() -> None:
    raw = _LINES[0]
    quick = validated_big_line(raw, terminated=False, dialect=Dialect.AUTO)
    assert isinstance(quick, Message) and not quick.terminated
    assert quick.json() == {"audios": {"1": _B64, "-2": _B64[:-4]}}


def test_lines_it_declines_are_still_judged_by_the_framer() -> None:
    declined = [raw for raw in _LINES if validated_big_line(raw, terminated=True, dialect=Dialect.LINE) is None]
    verdicts = [classify_line(raw, terminated=True, validate=True, dialect=Dialect.LINE) for raw in declined]
    assert sum(isinstance(v, Malformed) for v in verdicts) >= 6


def test_a_string_seen_before_is_not_rechecked_but_gives_the_same_message() -> None:
    raw = _line('{"audios": {"7": "<B64>"}}')
    first = validated_big_line(raw, terminated=True, dialect=Dialect.LINE)
    again = validated_big_line(raw, terminated=True, dialect=Dialect.LINE)
    assert first is not None and again is not None
    assert first == again and first.json() == again.json() == {"audios": {"7": _B64}}
    # The same length with one character that is not base64 is a different string.
    other = raw.replace(b'"7": "', b'"7": "\x01', 1)[:-4] + b'"}}'
    assert len(other) == len(raw)
    assert validated_big_line(other, terminated=True, dialect=Dialect.LINE) is None
