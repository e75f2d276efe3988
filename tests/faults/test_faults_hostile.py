"""Hostile capture files through the commands a user points at them: `show`, `info --scan`,
`check`, `diff`, `export` (and `repair` once it exists). tests/capture/test_capture_hostile.py
and test_capture_damage.py cover the reader alone; this covers what the commands do with what
the reader lets through. Never a traceback: exit 0/1/2 or a UtauproxyError (CaptureError)."""

from __future__ import annotations

import importlib.util
import struct
import tempfile
from pathlib import Path

import zstandard
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utauproxy.cli import cli
from utauproxy.errors import UtauproxyError

ROOT = Path(__file__).resolve().parents[2]
SEEDS = [ROOT / "tests/golden/capture-v1.0.utpcap", ROOT / "tests/golden/capture-v1.1.utpcap",
         ROOT / "captures/sample-P6.utpcap",
         ROOT / "captures/sample-v1.2.utpcap"]
HAS_REPAIR = importlib.util.find_spec("utauproxy.capture.repair") is not None

# CBOR heads declaring absurd sizes: a byte string, an array, a map of 2**64-1 items.
HUGE_HEADS = [b"\x5b" + b"\xff" * 8, b"\x9b" + b"\xff" * 8, b"\xbb" + b"\xff" * 8, b"\x7b" + b"\xff" * 8,
              b"\x5a\x7f\xff\xff\xff"]
DEEP = b"\x81" * 5000 + b"\x00"  # [[[[...0...]]]]
BOMB = zstandard.ZstdCompressor(level=3).compress(bytes(256 << 20))  # ~8 KiB on disk, 256 MiB inside


def truncated(data: bytes, draw: st.DrawFn) -> bytes:
    return data[: draw(st.integers(0, len(data)))]


def bit_flipped(data: bytes, draw: st.DrawFn) -> bytes:
    out = bytearray(data)
    for offset in draw(st.lists(st.integers(0, len(data) - 1), min_size=1, max_size=8)):
        out[offset] ^= 1 << draw(st.integers(0, 7))
    return bytes(out)


def spliced(data: bytes, draw: st.DrawFn) -> bytes:
    piece = draw(st.sampled_from([*HUGE_HEADS, DEEP, BOMB, struct.pack(">Q", 2**63 - 1)]))
    at = draw(st.integers(0, len(data)))
    overwrite = draw(st.booleans())
    return data[:at] + piece + data[at + (len(piece) if overwrite else 0):]


@st.composite
def hostile_files(draw: st.DrawFn) -> bytes:
    seed = draw(st.sampled_from(SEEDS)).read_bytes()
    how = draw(st.sampled_from(["truncate", "flip", "splice", "noise", "prefix-noise"]))
    if how == "truncate":
        return truncated(seed, draw)
    if how == "flip":
        return bit_flipped(seed, draw)
    if how == "splice":
        return spliced(seed, draw)
    if how == "prefix-noise":  # a valid label followed by anything
        return seed[:16] + draw(st.binary(max_size=4096))
    return draw(st.binary(max_size=4096))


def run(args: list[str]) -> int:
    result = CliRunner().invoke(cli, args, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, (SystemExit, UtauproxyError)):
        raise result.exception
    assert result.exit_code in (0, 1, 2, 3), (args, result.exit_code, result.output)
    return result.exit_code


def exercise(data: bytes, reference: Path) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hostile.utpcap"
        path.write_bytes(data)
        for args in (["show", str(path)], ["show", "--json", str(path)], ["info", "--scan", str(path)],
                     ["check", str(path)], ["diff", str(reference), str(path)],
                     ["export", "--format", "jsonl", "-o", str(Path(folder) / "x.jsonl"), str(path)]):
            run(args)
        if HAS_REPAIR:
            from utauproxy.capture.repair import repair_capture  # type: ignore[import-not-found,unused-ignore]

            try:
                repair_capture(path, Path(folder) / "repaired.utpcap")
            except UtauproxyError:
                pass


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_files())
def test_hostile_files_through_every_reading_command(data: bytes) -> None:
    exercise(data, SEEDS[1])


def test_the_splice_pieces_reach_the_commands() -> None:
    seed = SEEDS[1].read_bytes()
    for piece in [*HUGE_HEADS, DEEP, BOMB]:
        for at in (16, 64, len(seed) // 2, len(seed) - 8):
            exercise(seed[:at] + piece + seed[at:], SEEDS[1])
