"""open_capture: header, footer, records and labelled messages of a capture."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import utauproxy
from utauproxy import CaptureError, Direction, MessageRecord, open_capture


def test_messages_are_labelled_and_filtered(session_capture: Path) -> None:
    with open_capture(session_capture) as capture:
        assert capture.header.format_major == 1 and capture.footer is not None
        records = list(capture)
        messages = list(capture.messages())
        to_plugin = list(capture.messages(direction=Direction.OU_TO_PLUGIN))
        tracks = list(capture.messages(label="notification:updateTracks"))
    assert capture.damage == []
    assert len(records) == capture.footer.records
    assert len(messages) == sum(isinstance(r, MessageRecord) for r in records)
    assert messages[0].label == "request:init" and messages[0].direction is Direction.OU_TO_PLUGIN
    assert to_plugin and all(m.direction is Direction.OU_TO_PLUGIN for m in to_plugin)
    assert len(to_plugin) < len(messages)
    assert tracks and all(m.raw.startswith(b"notification:updateTracks ") for m in tracks)
    assert [m.seconds for m in messages] == sorted(m.seconds for m in messages)


def test_a_missing_capture_is_a_capture_error(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="cannot open"):
        open_capture(tmp_path / "nope.utpcap")


def test_the_api_is_importable_from_the_package_without_loading_it_eagerly() -> None:
    assert utauproxy.__version__ and set(utauproxy.__all__) <= set(dir(utauproxy))
    for name in utauproxy.__all__:
        assert getattr(utauproxy, name) is not None, name
    with pytest.raises(AttributeError):
        _ = utauproxy.no_such_name
    # Pure modules stay importable without the I/O stack (DESIGN.md §3).
    probe = "import sys, utauproxy.records, utauproxy.protocol.framer; print('anyio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
