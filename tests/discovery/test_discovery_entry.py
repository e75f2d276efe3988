"""Entry parsing by OpenUtau's rules and rendering in the writer's style (pure: no I/O)."""

from __future__ import annotations

import json

import pytest
from discovery_helpers import choc_entry, newtonsoft_read
from hypothesis import given
from hypothesis import strategies as st

from utauproxy.discovery.entry import (
    EntryStyle,
    ParsedEntry,
    Unreadable,
    decode_entry,
    is_ours,
    marked_name,
    parse_entry,
    render_takeover,
)
from utauproxy.protocol.events import Dialect

CHOC = '{"port": 51234, "name": "Vocal \\u3042"}'
BRIDGE = '{"apiVersion":"1.2","name":"OpenUtau Bridge 52341","port":52341}'


def parsed(text: str) -> ParsedEntry:
    result = parse_entry(text)
    assert isinstance(result, ParsedEntry), result
    return result


def test_choc_entry_with_unicode_escape() -> None:
    entry = parsed(CHOC)
    assert (entry.port, entry.name) == (51234, "Vocal \u3042")
    assert entry.dialect is Dialect.LINE and entry.api_version is None
    assert entry.style is EntryStyle.CHOC and not entry.is_ours


def test_bridge_entry_is_v1_2() -> None:
    entry = parsed(BRIDGE)
    assert (entry.port, entry.name, entry.api_version) == (52341, "OpenUtau Bridge 52341", "1.2")
    assert entry.dialect is Dialect.V1_2 and entry.style is EntryStyle.COMPACT_SORTED


@pytest.mark.parametrize(
    ("text", "port", "name"),
    [
        ('{"Port": 1234, "Name": "A"}', 1234, "A"),
        ('{"PORT": 1234, "nAmE": "A"}', 1234, "A"),
        ('{"port": "1234", "name": "A"}', 1234, "A"),  # Newtonsoft reads integer strings
        ('{"name": "A"}', 0, "A"),  # missing port is 0: dead, never live
        ('{"port": 1234}', 1234, None),
        ('{"port": 1, "name": "A", "pid": 7, "extra": {"x": [1]}}', 1, "A"),
        ('{"port": 1, "Port": 2, "name": "A"}', 2, "A"),  # the last match wins
        ('{"port": 70000, "name": "A"}', 70000, "A"),  # parses; the probe calls it dead
        ('\ufeff{"port": 5, "name": "A"}', 5, "A"),  # File.ReadAllText drops a BOM
        ('  {"port": 5, "name": 12}\n', 5, "12"),
    ],
)
def test_newtonsoft_rules(text: str, port: int, name: str | None) -> None:
    entry = parsed(text)
    assert (entry.port, entry.name) == (port, name)


@pytest.mark.parametrize(
    "text",
    ["", "   ", "{", "null", "[]", "5", '"x"', '{"port": 1.5}', '{"port": true}',
     '{"port": "1_000"}', '{"port": 99999999999}', '{"port": 1, "name": {}}',
     '{"port": 1} trailing', "[" * 100_000],
)
def test_unreadable_never_raises(text: str) -> None:
    assert isinstance(parse_entry(text), Unreadable)


def test_every_prefix_of_a_half_written_entry_is_unreadable() -> None:
    # The plugin truncates, then writes (PROTOCOL.md §1.3): a reader can see any prefix.
    for cut in range(len(CHOC)):
        assert isinstance(parse_entry(CHOC[:cut]), Unreadable), CHOC[:cut]


def test_invalid_utf8_is_unreadable_and_text_is_kept_exactly() -> None:
    assert isinstance(decode_entry(b'{"port": 1, "name": "\xff"}'), Unreadable)
    assert decode_entry("\ufeff{}".encode()) == "\ufeff{}"


def test_rendered_choc_entry_points_at_us_and_carries_the_original() -> None:
    text = render_takeover(parsed(CHOC), CHOC, proxy_port=40001, mark="recording", pid=321)
    assert text.isascii() and text.startswith('{"port": 40001, "name": "Vocal \\u3042 (recording)", ')
    assert newtonsoft_read(text) == (40001, "Vocal \u3042 (recording)")
    ours = parsed(text)
    assert ours.embedded is not None
    assert (ours.embedded.upstream_port, ours.embedded.original, ours.embedded.pid) == (51234, CHOC, 321)
    assert is_ours(text) and not is_ours(CHOC) and not is_ours("")


def test_rendered_bridge_entry_keeps_api_version_and_nlohmann_style() -> None:
    text = render_takeover(parsed(BRIDGE), BRIDGE, proxy_port=40002, mark="replay", pid=1)
    assert ": " not in text and ", " not in text
    members = json.loads(text)
    assert list(members) == sorted(members)
    assert members["apiVersion"] == "1.2" and members["port"] == 40002
    assert members["name"] == "OpenUtau Bridge 52341 (replay)"
    assert parsed(text).dialect is Dialect.V1_2


def test_render_updates_the_members_in_their_own_spelling() -> None:
    original = '{"Name": "A", "Port": 1234, "color": "red"}'
    members = json.loads(render_takeover(parsed(original), original, proxy_port=9, mark="m", pid=1))
    assert list(members) == ["Name", "Port", "color", "utauproxy"]
    assert (members["Port"], members["Name"], members["color"]) == (9, "A (m)", "red")


def test_nameless_entry_gets_the_mark_alone() -> None:
    assert marked_name(None, "recording") == "(recording)"
    assert marked_name("", "replay") == "(replay)"


@given(name=st.text(max_size=40), port=st.integers(1, 65535), proxy=st.integers(1, 65535))
def test_round_trip_for_any_name(name: str, port: int, proxy: int) -> None:
    original = choc_entry(port, name)
    text = render_takeover(parsed(original), original, proxy_port=proxy, mark="recording", pid=5)
    assert newtonsoft_read(text) == (proxy, marked_name(name, "recording"))
    back = parsed(text)
    assert back.embedded is not None and back.embedded.original == original
    assert back.embedded.upstream_port == port
