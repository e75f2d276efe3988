"""Durations and sizes as a user types them."""

from __future__ import annotations

import pytest

from utauproxy.bundle.durations import format_seconds, parse_duration, parse_size


@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90.0), ("5m", 300.0), ("1h30m", 5400.0), ("1h", 3600.0), ("2m30s", 150.0),
    ("500ms", 0.5), ("12:30", 750.0), ("1:02:03", 3723.0), ("45", 45.0), ("2.5", 2.5),
    ("0:05.5", 5.5), (" 5M ", 300.0),
])
def test_durations_in_every_documented_form(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5x", "m5", "1:75", "1:60:00", "-5", "5m5m", "5 m", "abc", "1::2",
                                  "1h 30m", "inf", "nan"])
def test_anything_else_is_a_clear_error(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration") as info:
        parse_duration(text)
    assert "1h30m" in str(info.value)  # the message says what is accepted


@pytest.mark.parametrize(("text", "size"), [
    ("10MB", 10_000_000), ("8M", 8_000_000), ("500kB", 500_000), ("1MiB", 1 << 20),
    ("9.5MiB", int(9.5 * (1 << 20))), ("1234", 1234), ("2 mb", 2_000_000), ("1g", 10**9),
])
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "ten", "10 TB", "0", "-5MB", "MB"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


def test_format_seconds() -> None:
    assert format_seconds(3723.25) == "1:02:03.250"
    assert format_seconds(0) == "0:00:00.000"
