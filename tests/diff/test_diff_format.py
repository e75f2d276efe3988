"""The formatting digest of big payloads: strings found with bytes.find, never a different
skeleton than the one regular expression gives (canon.py `format_digest`)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from utauproxy.diff.canon import _TOKEN, _shape, _skeleton_by_strings, format_digest


def _by_token(payload: bytes) -> bytes:
    return _TOKEN.sub(_shape, payload)


# Bytes that matter to the skeleton: quotes, escapes, colons, whitespace, number characters.
_PIECES = st.sampled_from([b'"', b"\\", b":", b" ", b"\n", b"\t", b"0", b"12", b"-", b".", b"5e",
                           b"E+3", b"a", b"{", b"}", b"[", b"]", b",", b'\\"', b"\\\\", b'"k": '])


@settings(max_examples=2000, deadline=None)
@given(st.lists(_PIECES, max_size=40).map(b"".join))
def test_the_skeleton_by_strings_is_the_regular_expressions_own(payload: bytes) -> None:
    assert _skeleton_by_strings(payload) == _by_token(payload)


def test_big_json_payloads_digest_as_before_whatever_their_strings_hold() -> None:
    ustx = "name: x\nvoice_parts:\n" + "".join(f'- note: "{n}"\\ \t{n}.5e3\n' for n in range(3000))
    payloads = [
        json.dumps({"ustx": ustx}).encode(),
        json.dumps({"ustx": ustx}, indent=2).encode(),
        json.dumps({"tracks": [{"name": f"t{n}", "volume": n / 3, "pan": -n} for n in range(900)]}).encode(),
        json.dumps({"a": "x\\" * 9000, "b": 1.5e300, "c": '"' * 9000}, separators=(",", ":")).encode(),
        b'{"unterminated": "' + b"1.5 " * 5000,  # not JSON: the regular expression has the rest
    ]
    for payload in payloads:
        assert len(payload) >= 16 << 10
        assert _skeleton_by_strings(payload) == _by_token(payload)
        assert format_digest(payload) == format_digest(memoryview(b" " + payload)[1:])
    # What the digest is for: formatting differs, values do not.
    assert format_digest(payloads[0]) != format_digest(payloads[1])
