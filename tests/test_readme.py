"""The README's two set-up commands are the project's contract with a new user and with CI."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_starts_with_the_two_setup_commands() -> None:
    first, second = (ROOT / "README.md").read_text().splitlines()[:2]
    assert first.startswith("pip install ") and first.endswith("utauproxy demo")
    assert second.startswith("pip install -e ") and "pytest" in second


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "grep -m1 -E '^pip install -e .*pytest' README.md" in ci
