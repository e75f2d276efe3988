"""`utauproxy show`: golden timelines of deterministic captures, filters, --json, --raw."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from inspect_captures import (
    ID_LAYOUT,
    fixed_header,
    p2_session,
    showcase_session,
    v1_2_session,
    write_capture,
)
from inspect_golden import assert_golden
from inspect_real_wire import real_stream, real_wire_records
from utauproxy.cli.show import show
from utauproxy.records import Record

SESSIONS: dict[str, Callable[[], list[Record]]] = {
    "showcase": showcase_session,
    "p2": p2_session,
    "v1_2": v1_2_session,
    "real_wire": real_wire_records,
}


def _capture(tmp_path: Path, name: str) -> Path:
    return write_capture(tmp_path / f"{name}.utpcap", SESSIONS[name]())


def _show(*args: str | Path) -> str:
    result = CliRunner().invoke(show, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


@pytest.mark.parametrize("name", sorted(SESSIONS))
def test_timeline_golden(tmp_path: Path, name: str) -> None:
    assert_golden(f"show_{name}.txt", _show(_capture(tmp_path, name)))


def test_json_golden(tmp_path: Path) -> None:
    output = _show(_capture(tmp_path, "showcase"), "--json")
    rows = [json.loads(line) for line in output.splitlines()]
    assert {row["type"] for row in rows} >= {"request", "response", "notification", "malformed",
                                             "conn", "discovery", "mark", "gap", "notice"}
    assert_golden("show_showcase.jsonl", output)


def test_filter_by_kind_direction_and_time(tmp_path: Path) -> None:
    path = _capture(tmp_path, "showcase")
    output = _show(path, "--kind", "updatePartLayout", "--direction", "to-ou")
    lines = output.splitlines()
    assert len(lines) == 2 and all("res updatePartLayout" in line for line in lines)
    assert all("←" in line for line in lines)
    assert ID_LAYOUT[:8] in lines[0]
    early = _show(path, "--until", "1.0").splitlines()
    assert len(early) == 5 and all(float(line.split()[0]) <= 1.0 for line in early)
    window = _show(path, "--since", "5", "--until", "11", "--kind", "ping", "--kind", "mark")
    assert [line.split()[0] for line in window.splitlines()] == ["5.015", "10.020", "11.000"]


def test_filter_by_type_and_connection(tmp_path: Path) -> None:
    path = _capture(tmp_path, "showcase")
    malformed = _show(path, "-k", "malformed").splitlines()
    assert len(malformed) == 1 and "MALFORMED" in malformed[0]
    conn_events = _show(path, "-k", "conn").splitlines()
    assert [line.split()[4] for line in conn_events] == ["open", "eof", "closed"]
    assert _show(path, "--conn", "2") == ""
    # Records without a connection (discovery, mark, notice) drop out when one is asked for.
    assert "discovery" not in _show(path, "--conn", "1") and "mark" not in _show(path, "--conn", "1")


def test_raw_gives_back_the_exact_streams(tmp_path: Path) -> None:
    path = _capture(tmp_path, "real_wire")
    to_plugin = CliRunner().invoke(show, [str(path), "--raw", "--direction", "to-plugin"])
    to_ou = CliRunner().invoke(show, [str(path), "--raw", "--direction", "to-ou"])
    assert to_plugin.stdout_bytes == real_stream("ou-to-plugin")
    assert to_ou.stdout_bytes == real_stream("plugin-to-ou")


def test_raw_and_json_exclude_each_other(tmp_path: Path) -> None:
    result = CliRunner().invoke(show, [str(_capture(tmp_path, "p2")), "--raw", "--json"])
    assert result.exit_code == 2


def test_colour_only_when_asked_or_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _capture(tmp_path, "showcase")
    assert "\x1b[" not in _show(path)  # CliRunner's output is not a terminal
    result = CliRunner().invoke(show, [str(path), "--color"], color=True)
    assert "\x1b[" in result.output
    assert "\x1b[" not in CliRunner().invoke(show, [str(path), "--no-color"], color=True).output


def test_no_color_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from utauproxy.cli.show import use_colour

    class Terminal:
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_colour(Terminal()) is True  # type: ignore[arg-type]
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_colour(Terminal()) is False  # type: ignore[arg-type]
    assert use_colour(Terminal(), force=True) is True  # type: ignore[arg-type]


def test_capture_without_footer_is_shown(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "cut.utpcap", p2_session(), fixed_header(), close=False)
    assert _show(path) == _show(_capture(tmp_path, "p2"))


def test_sample_captures_if_present() -> None:
    samples = sorted((Path(__file__).resolve().parents[2] / "captures").glob("sample-*.utpcap"))
    if not samples:
        pytest.skip("no sample captures (scripts/make_sample_captures.py makes them)")
    for path in samples:
        lines = _show(path).splitlines()
        assert any("req init" in line for line in lines), path
        assert not any("MALFORMED" in line or "no matching request" in line for line in lines), path


def test_damaged_capture_is_shown_with_a_warning(tmp_path: Path) -> None:
    from inspect_captures import p6_session
    from utauproxy.capture import CaptureReader

    path = write_capture(tmp_path / "p6.utpcap", p6_session())
    whole = _show(path).splitlines()
    with CaptureReader.open(path) as reader:
        assert reader.footer is not None
        offset = reader.footer.chunks[1].offset
    data = bytearray(path.read_bytes())
    data[offset + 8 : offset + 40] = b"\xde\xad" * 16
    path.write_bytes(bytes(data))
    result = CliRunner().invoke(show, [str(path)])
    assert result.exit_code == 0
    assert "damaged region" in result.stderr
    shown = result.stdout.splitlines()
    assert 0 < len(shown) < len(whole) and set(shown) <= set(whole)


def test_progress_passes_every_record_through() -> None:
    from inspect_captures import p6_session
    from utauproxy.cli.show import with_progress

    records = p6_session()
    assert list(with_progress(iter(records), len(records), "x")) == records
    assert list(with_progress(iter(records), None, "x")) == records
