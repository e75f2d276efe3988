"""plugin_hazards skips string literals with `find` instead of one regex over the payload;
its findings must be those of the one-regex scan, whatever the bytes (reference kept here)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from utauproxy.protocol.lenient_json import loads, plugin_hazards

_REFERENCE_SCAN = re.compile(
    rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)|(?P<plus_exp>[eE]\+)|(?P<non_finite>NaN|Infinity)',
    re.DOTALL,
)


def _reference(payload: bytes) -> list[str]:
    reasons: list[str] = []
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        reasons.append(f"invalid UTF-8 at byte {exc.start}")
    if b"\r" in payload:
        reasons.append("contains CR (0x0D); the peers split on LF only (PROTOCOL.md §2.1)")
    stripped = payload.lstrip(b" \t\r\n")
    first = stripped[0] if stripped else None
    if first is not None and first not in b"{[":
        reasons.append("top-level JSON value is not an object or array (PROTOCOL.md §2.2)")
    plus = bare = False
    for match in _REFERENCE_SCAN.finditer(payload):
        plus = plus or match.group("plus_exp") is not None
        bare = bare or match.group("non_finite") is not None
    if plus:
        reasons.append("number with a '+' exponent (e.g. 1E+16) that choc cannot parse (§6.10)")
    if bare:
        reasons.append("bare NaN/Infinity literal that choc cannot parse (§6.10)")
    if not reasons and first is not None:
        try:
            loads(payload)
        except ValueError as exc:
            reasons.append(str(exc))
    return reasons


_PIECES = st.sampled_from([b'"', b"\\", b'\\"', b"\\\\", b"e+", b"E+", b"NaN", b"Infinity", b"1", b"{", b"}",
                           b"[", b"]", b":", b",", b" ", b"\r", b"\n", b"a", b"\xff", b"\xc3\xa9", b'"x"'])


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=30))
def test_same_findings_as_one_regex_over_the_payload(pieces: list[bytes]) -> None:
    payload = b"".join(pieces)
    assert plugin_hazards(payload) == _reference(payload)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=60))
def test_same_findings_on_any_bytes(payload: bytes) -> None:
    assert plugin_hazards(payload) == _reference(payload)


def test_parsed_payloads_skip_only_what_could_not_differ() -> None:
    for payload in (b'{"a": 1E+16}', b'{"s": "NaN e+", "n": NaN}', b'[1]', b'{"k": "\\a"}'):
        loads(payload)  # what `parsed=True` promises
        assert plugin_hazards(payload, parsed=True) == _reference(payload)


def test_strings_hide_tokens_but_escaped_quotes_do_not_end_them() -> None:
    assert plugin_hazards(b'{"a": "x\\" 1E+3 NaN"}') == []
    assert plugin_hazards(b'{"a": "x\\\\", "b": 1E+3}') == [
        "number with a '+' exponent (e.g. 1E+16) that choc cannot parse (§6.10)"]
    big = b'{"audios": {"1": "' + b"QUJD" * 100_000 + b'e+NaN"}}'
    assert plugin_hazards(big, parsed=True) == []
