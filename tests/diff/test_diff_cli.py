"""`utauproxy diff`: output, JSON and exit codes (0 equivalent, 1 different, 2 usage)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from utauproxy.cli.diff import diff
from utauproxy.peers.edits import SetTrackVolume, apply_edit
from utauproxy.peers.project import Project, ProjectSpec, generate_project

from .sessions import synthetic_capture


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli")
    project: Project = generate_project(3, ProjectSpec(notes=8, tracks=2, parts_per_track=1,
                                                       part_seconds=0.5, curve_points=2))
    louder = apply_edit(project, SetTrackVolume(0, 3.5))
    return {
        "a": synthetic_capture(folder / "a.utpcap", [project, project], seed=1),
        "same": synthetic_capture(folder / "same.utpcap", [project, project], seed=2),
        "louder": synthetic_capture(folder / "louder.utpcap", [louder, louder], seed=3),
    }


def run(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(diff, [str(a) for a in args])
    return result.exit_code, result.output


def test_equivalent_captures_exit_0_with_the_summary_first(captures: dict[str, Path]) -> None:
    code, output = run(captures["a"], captures["same"])
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0].startswith("A  a.utpcap: ") and lines[1].startswith("B  same.utpcap: ")
    assert lines[2].startswith("Summary: ") and " 0 changed, 0 only in A, 0 only in B" in lines[2]
    assert "Verdict: equivalent" in output


def test_different_captures_exit_1_and_name_the_difference(captures: dict[str, Path]) -> None:
    code, output = run(captures["a"], captures["louder"])
    assert code == 1, output
    assert "Summary: " in output.splitlines()[2] and "4 changed" in output
    assert "track[0].volume: " in output and "→ 3.5" in output


def test_json_report_is_one_object_with_the_same_verdict(captures: dict[str, Path]) -> None:
    code, output = run(captures["a"], captures["louder"], "--json")
    assert code == 1
    report = json.loads(output)
    assert report["equivalent"] is False
    assert report["summary"]["changed"] == 4 and report["summary"]["only_b"] == 0
    [difference] = report["differences"]
    assert difference["subject"] == "track[0].volume" and difference["b"] == "3.5"
    assert difference["seen_in"] == {"notification:updateUstx": 2, "notification:updateTracks": 2}


def test_ignore_path_turns_the_difference_into_equivalence(captures: dict[str, Path]) -> None:
    code, output = run(captures["a"], captures["louder"], "--ignore-path", "track[0].volume")
    assert code == 0, output


def test_usage_errors_exit_2(captures: dict[str, Path], tmp_path: Path) -> None:
    assert run(captures["a"])[0] == 2
    assert run(captures["a"], tmp_path / "missing.utpcap")[0] == 2
    code, output = run(captures["a"], captures["same"], "--no-ignore", "colour")
    assert code == 2 and "unknown noise rule 'colour'" in output
    not_a_capture = tmp_path / "notes.txt"
    not_a_capture.write_text("hello")
    code, output = run(captures["a"], not_a_capture)
    assert code == 2 and "Error:" in output


def test_list_rules_names_every_noise_rule() -> None:
    code, output = run("--list-rules")
    assert code == 0
    names = [line for line in output.splitlines() if line and not line.startswith(" ")]
    assert names == ["ids", "timing", "pings", "json-format", "audio-encoding", "hash-values"]


def test_strict_ids_report_the_ids_and_exit_1(captures: dict[str, Path]) -> None:
    code, output = run(captures["a"], captures["same"], "--no-ignore", "ids")
    assert code == 1
    assert "request:init request id" in output and "[strict ids]" in output


def test_junit_report_has_one_failing_case_per_finding(tmp_path: Path) -> None:
    samples = Path(__file__).resolve().parents[2] / "captures"
    junit = tmp_path / "diff.xml"
    result = CliRunner().invoke(diff, [str(samples / "sample-P3.utpcap"),
                                               str(samples / "sample-P6.utpcap"), "--junit", str(junit)])
    assert result.exit_code == 1
    suite = ET.parse(junit).getroot()
    failures = [case.find("failure") for case in suite.iter("testcase")]
    assert int(suite.get("failures", "0")) == len(failures) > 0
    names = [case.get("name", "") for case in suite.iter("testcase")]
    assert any("missingAudios" in name for name in names)
    same = tmp_path / "same.xml"
    result = CliRunner().invoke(diff, [str(samples / "sample-P6.utpcap"),
                                               str(samples / "sample-P6.utpcap"), "--junit", str(same)])
    assert result.exit_code == 0
    assert ET.parse(same).getroot().get("failures") == "0"
