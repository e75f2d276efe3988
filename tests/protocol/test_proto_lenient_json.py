"""JSON as the peers write it (PROTOCOL.md §6.10) and the plugin parser's hazards."""

from __future__ import annotations

import pytest

from utauproxy.protocol import loads, plugin_hazards


def test_strict_json_parses_from_bytes_and_str() -> None:
    assert loads(b'{"a": [1, 2.5, "\\u3042"]}') == {"a": [1, 2.5, "\u3042"]}
    assert loads('{"a":1500.0}') == {"a": 1500.0}


def test_chocs_bel_escape_is_accepted() -> None:
    assert loads(b'{"name": "ding\\a"}') == {"name": "ding\x07"}


def test_an_escaped_backslash_before_a_is_not_a_bel() -> None:
    # `\\a` is a backslash then `a`; `\\\a` is a backslash then BEL.
    assert loads(b'{"p": "C:\\\\a", "q": "\\\\\\a"}') == {"p": "C:\\a", "q": "\\\x07"}


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (b'{"a": "\xff"}', "invalid UTF-8"),
        (b"{oops}", "not JSON"),
        (b"", "not JSON"),
        (b'{"a": "\\q"}', "not JSON"),
        (b'{"a": 1} trailing', "not JSON"),
    ],
)
def test_what_is_not_json_is_a_value_error(payload: bytes, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        loads(payload)


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (b'{"size": 1E+16}', "'+' exponent"),
        (b"[1e+5]", "'+' exponent"),
        (b'{"x": NaN}', "NaN/Infinity"),
        (b"[-Infinity]", "NaN/Infinity"),
        (b"123", "not an object or array"),
        (b'"text"', "not an object or array"),
        (b"{}\r", "CR"),
        (b'{"a": "\xc3"}', "invalid UTF-8"),
        (b'{"a": }', "not JSON"),
    ],
)
def test_each_plugin_hazard_is_reported(payload: bytes, fragment: str) -> None:
    reasons = plugin_hazards(payload)
    assert any(fragment in reason for reason in reasons), reasons


@pytest.mark.parametrize(
    "payload",
    [
        b"{}",
        b"  [1, 2]",
        b'{"ustx": "1e+5 NaN Infinity"}',  # inside strings these are just text
        b'{"v": 1e-5, "w": 1E5, "x": -0.0}',
        b'{"a": "quote \\" then 1e+5"}',
        b'{"bel": "\\a"}',  # choc wrote it, choc reads it
        b"",  # choc gives a void value for an empty payload
    ],
)
def test_safe_payloads_have_no_hazards(payload: bytes) -> None:
    assert plugin_hazards(payload) == []


def test_several_hazards_are_all_reported() -> None:
    reasons = plugin_hazards(b'{"a": 1e+3, "b": NaN}\r')
    assert len(reasons) == 3


def test_an_unterminated_string_full_of_escaped_quotes_is_handled() -> None:
    # Would be quadratic with a naive string pattern; must simply finish and report.
    payload = b'{"a": "' + b'\\"' * 200_000
    assert any("not JSON" in r for r in plugin_hazards(payload))
