"""The JSON writers reproduce the real peers' bytes (PROTOCOL.md §2.1, §3.3, §5.1)."""

from __future__ import annotations

import json

import pytest

from .helpers import real_lines
from utauproxy.peers.jsonstyle import (
    CHOC,
    NEWTONSOFT,
    NLOHMANN,
    SYSTEM_TEXT_JSON,
    net_double,
    newtonsoft_double,
)


@pytest.mark.parametrize(("value", "net", "newtonsoft"), [
    (0.0, "0", "0.0"),
    (1500.0, "1500", "1500.0"),
    (0.07, "0.07", "0.07"),
    (1e15, "1E+15", "1E+15"),
    (1e14, "100000000000000", "100000000000000.0"),
    (1.5e20, "1.5E+20", "1.5E+20"),
    (0.0001, "0.0001", "0.0001"),
    (0.00001, "1E-05", "1E-05"),
    (-630150190.0, "-630150190", "-630150190.0"),
    (1666.6666666666667, "1666.6666666666667", "1666.6666666666667"),
])
def test_doubles_are_formatted_like_dotnet(value: float, net: str, newtonsoft: str) -> None:
    assert net_double(value) == net
    assert newtonsoft_double(value) == newtonsoft


def test_newtonsoft_reproduces_every_real_openutau_line() -> None:
    # Re-serialising the parsed payload must give the exact bytes real OpenUtau sent,
    # including the 175 KB updateUstx with raw UTF-8 kana and `0.0` doubles.
    lines = real_lines("ou-to-plugin.bin")
    assert len(lines) == 8
    for line in lines:
        head, payload = line.split(b" ", 1)
        assert NEWTONSOFT.dumpb(json.loads(payload)) == payload, head


def test_choc_reproduces_every_real_plugin_line() -> None:
    # The init response holds a BOM and kana, which choc writes as lowercase \uxxxx.
    lines = real_lines("plugin-to-ou.bin")
    assert any(b"\\ufeff" in line for line in lines)
    for line in lines:
        head, payload = line.split(b" ", 1)
        assert CHOC.dumpb(json.loads(payload)) == payload, head


def test_choc_escapes_like_its_c_writer() -> None:
    assert CHOC.dumps({"a": "\a\u3042\U0001f600", "b": [1, True, None]}) == (
        '{"a": "\\a\\u3042\\ud83d\\ude00", "b": [1, true, null]}')


def test_system_text_json_escapes_html_sensitive_and_non_ascii() -> None:
    text = SYSTEM_TEXT_JSON.dumps({"ustx": 'x: "<&+>\'\u3042\n', "ms": 1200.0, "n": 3})
    assert text == ('{"ustx":"x: \\u0022\\u003C\\u0026\\u002B\\u003E\\u0027\\u3042\\n",'
                    '"ms":1200,"n":3}')


def test_nlohmann_sorts_keys_and_keeps_utf8() -> None:
    assert NLOHMANN.dumps({"port": 5, "name": "\u3042", "apiVersion": "1.2"}) == (
        '{"apiVersion":"1.2","name":"\u3042","port":5}')
