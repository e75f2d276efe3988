"""docs/reliability.md names the test behind every promise: each one must exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST_REF = re.compile(r"(tests/[\w/]+\.py)::(\w+)")


def test_every_test_named_in_reliability_md_exists() -> None:
    text = (ROOT / "docs" / "reliability.md").read_text()
    refs = set(TEST_REF.findall(text))
    assert len(refs) > 30
    missing = [f"{path}::{name}" for path, name in sorted(refs)
               if not (ROOT / path).is_file()
               or not re.search(rf"^(async )?def {name}\(", (ROOT / path).read_text(), re.M)]
    assert missing == []
