"""Golden output of `show` and `info` on the shipped sample captures (captures/): what a user
sees first. Regenerating the samples (scripts/make_sample_captures.py) changes their timestamps:
then run `UPDATE_GOLDEN=1 pytest tests/inspect` and review the diff."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from inspect_golden import assert_golden
from utauproxy.cli.info import info
from utauproxy.cli.show import show
from utauproxy.protocol.versions import SIMULATED_VERSIONS

SAMPLES = Path(__file__).resolve().parents[2] / "captures"


@pytest.mark.parametrize("version", [v.value for v in SIMULATED_VERSIONS])
def test_show_and_info_on_the_sample_capture(version: str) -> None:
    sample = SAMPLES / f"sample-{version}.utpcap"
    shown = CliRunner().invoke(show, [str(sample), "--no-color"])
    assert shown.exit_code == 0, shown.output
    assert_golden(f"sample_{version}_show.txt", shown.output)
    summary = CliRunner().invoke(info, [str(sample)])
    assert summary.exit_code == 0, summary.output
    assert f"{version} (recorded in the footer)" in summary.output
    assert_golden(f"sample_{version}_info.txt", summary.output.replace(str(sample), sample.name))
