"""The README's count of check findings is the number found, not the number listed."""

from __future__ import annotations

from utauproxy.bundle.readme import _findings


def test_the_count_is_of_findings_found_when_only_some_are_listed() -> None:
    listed = [f"finding {n}" for n in range(200)] + ["... and 457 more"]
    lines = _findings(listed, trimmed=False, total=657)
    assert lines[0] == "657 finding(s), checked on the capture before redaction:"
    assert lines[-1] == "... and 457 more"


def test_a_clean_capture_says_so() -> None:
    assert _findings([], trimmed=False, total=0) == ["clean: no findings"]
