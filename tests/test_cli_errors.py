"""Expected failures end with a message and a documented exit code, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "captures" / "sample-P6.utpcap"


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "utauproxy", *args], cwd=cwd, text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=60)


def test_record_refuses_to_overwrite_a_capture(tmp_path: Path) -> None:
    existing = tmp_path / "x.utpcap"
    existing.write_bytes(b"precious")
    result = run("record", "--dir", str(tmp_path / "d"), "-o", str(existing))
    assert result.returncode == 2
    assert "never overwrites" in result.stderr and "Traceback" not in result.stderr
    assert existing.read_bytes() == b"precious"


def test_a_missing_capture_is_a_usage_error() -> None:
    result = run("info", "no-such-file.utpcap")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_a_garbage_capture_is_a_clear_error(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.utpcap"
    garbage.write_bytes(b"this is not a capture file at all\n" * 10)
    result = run("show", str(garbage))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "capture" in result.stderr.lower()


def test_a_closed_pipe_inside_a_running_task_ends_quietly(tmp_path: Path) -> None:
    """`sim plugin` prints from inside its task group; the error arrives as an exception group."""
    folder = tmp_path / "PluginServers"
    proc = subprocess.Popen([sys.executable, "-m", "utauproxy", "sim", "plugin", "--dir", str(folder)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `| head -0`: the first status line hits a closed pipe
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1
    assert "Traceback" not in stderr
    assert not list(folder.glob("*.json"))  # the plugin still removed its entry


def test_check_does_not_call_a_damaged_capture_clean(tmp_path: Path) -> None:
    data = SAMPLE.read_bytes()
    cut = tmp_path / "cut.utpcap"
    cut.write_bytes(data[: len(data) // 2])  # an interrupted recording: no footer, a cut chunk
    result = run("check", str(cut))
    assert result.returncode == 1
    assert "unreadable" in result.stdout and "clean: no findings" not in result.stdout
    assert "damaged region" in result.stderr and "repair" not in result.stderr
    assert run("check", str(SAMPLE)).returncode == 0
