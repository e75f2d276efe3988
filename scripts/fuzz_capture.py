"""Coverage-guided fuzzing (atheris / libFuzzer) of everything that opens an untrusted capture.

    pip install -e '.[fuzz]'
    python scripts/fuzz_capture.py                       # every target, 120 s each
    python scripts/fuzz_capture.py --seconds 60 reader show

Targets: `reader` (CaptureReader: open, records(), follow() up to the end of the file), `show`
(show and show --json), `check` (check and info --scan), `diff` (against a sample capture),
`export` (jsonl) and `repair` (utauproxy.capture.repair.repair_capture, when it exists).
Seed corpus: captures/*.utpcap and tests/golden/*.utpcap, copied to a scratch folder (the
fuzzer adds to its corpus; the repository's files are never touched).

Each target runs in a worker process of its own. The worker counts inputs and classifies every
outcome: a clean result or an expected error (CaptureError; for the commands, an exit code or
a UtauproxyError) is fine; any other exception is a crash (kept, with the input, under
--out/crashes); an input that runs past --input-seconds is a hang (SIGALRM in the worker,
libFuzzer's -timeout behind it); libFuzzer's -rss_limit_mb bounds memory, and the worker reports
its peak RSS. The parent prints one table for all targets.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ["reader", "show", "check", "diff", "export", "repair"]
REFERENCE = ROOT / "captures" / "sample-P6.utpcap"


class InputTimeout(Exception):
    """Raised by SIGALRM inside a target that ran too long on one input."""


class _AtEnd(Exception):
    """follow() reached the end of a file without a footer: it would wait for more."""


# --- the worker ----------------------------------------------------------------------------------


def _build_target(name: str, scratch: Path) -> Callable[[bytes], None]:
    import atheris  # type: ignore[import-untyped,unused-ignore]

    from click.testing import CliRunner

    sys.path.insert(0, str(ROOT))  # the worker runs in a scratch folder, not the checkout
    with atheris.instrument_imports(include=["utauproxy"]):
        from utauproxy.capture.reader import CaptureReader
        from utauproxy.cli import cli
        from utauproxy.errors import CaptureError, UtauproxyError

    path = scratch / "input.utpcap"

    def stop(_: float) -> None:
        raise _AtEnd

    def reader(data: bytes) -> None:
        try:
            with CaptureReader(io.BytesIO(data)) as opened:
                for _ in opened.records():
                    pass
                try:
                    for _ in opened.follow(poll_s=0.0, sleep=stop):
                        pass
                except _AtEnd:
                    pass
        except CaptureError:
            pass

    def command(*argsets: list[str]) -> Callable[[bytes], None]:
        def run(data: bytes) -> None:
            path.write_bytes(data)
            for args in argsets:
                result = CliRunner().invoke(cli, args, catch_exceptions=True)
                exc = result.exception
                if exc is not None and not isinstance(exc, (SystemExit, UtauproxyError)):
                    raise exc
        return run

    p, out = str(path), str(scratch / "out.jsonl")
    if name == "reader":
        return reader
    if name == "show":
        return command(["show", p], ["show", "--json", p])
    if name == "check":
        return command(["check", p], ["info", "--scan", p])
    if name == "diff":
        return command(["diff", str(REFERENCE), p])
    if name == "export":
        return command(["export", "--format", "jsonl", "--force", "-o", out, p])
    if name == "repair":
        with atheris.instrument_imports(include=["utauproxy"]):
            from utauproxy.capture.repair import repair_capture  # type: ignore[import-not-found,unused-ignore]

        def repair(data: bytes) -> None:
            path.write_bytes(data)
            target = scratch / "repaired.utpcap"
            target.unlink(missing_ok=True)
            try:
                repair_capture(path, target)
            except CaptureError:
                pass
        return repair
    raise SystemExit(f"unknown target {name}")


def worker(args: argparse.Namespace) -> None:
    import atheris  # type: ignore[import-untyped,unused-ignore]

    # Inside the parent's scratch folder: libFuzzer ends the process with exit(), past any
    # `finally`, and the parent removes the whole folder.
    scratch = Path(args.stats).parent / f"work-{args.target}"
    scratch.mkdir(parents=True, exist_ok=True)
    target = _build_target(args.target, scratch)
    crashes_dir = Path(args.out) / "crashes" / args.target
    stats = {"target": args.target, "inputs": 0, "crashes": 0, "hangs": 0, "crash_kinds": {},
             "max_input_seconds": 0.0, "peak_rss_mb": 0.0}
    stats_path = Path(args.stats)
    last_save = time.monotonic()

    def save() -> None:
        stats["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        stats_path.write_text(json.dumps(stats))

    def on_alarm(signum: int, frame: object) -> None:
        raise InputTimeout

    signal.signal(signal.SIGALRM, on_alarm)

    def one_input(data: bytes) -> None:
        nonlocal last_save
        stats["inputs"] += 1
        started = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, args.input_seconds)
        try:
            target(data)
        except InputTimeout:
            stats["hangs"] += 1
            _keep(crashes_dir, "hang", data, "timeout")
        except Exception as exc:  # noqa: BLE001 - every unexpected exception is a finding
            where = traceback.extract_tb(exc.__traceback__)[-1]
            kind = f"{type(exc).__name__} at {Path(where.filename).name}:{where.lineno}"
            stats["crashes"] += 1
            stats["crash_kinds"][kind] = stats["crash_kinds"].get(kind, 0) + 1
            _keep(crashes_dir, "crash", data, "".join(traceback.format_exception(exc)))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        stats["max_input_seconds"] = max(stats["max_input_seconds"], time.monotonic() - started)
        if time.monotonic() - last_save > 1.0:
            last_save = time.monotonic()
            save()

    save()
    libfuzzer = [sys.argv[0], f"-max_total_time={args.seconds}", f"-rss_limit_mb={args.rss_mb}",
                 f"-malloc_limit_mb={args.rss_mb}", f"-timeout={int(args.input_seconds * 4) + 1}",
                 "-max_len=65536", "-print_final_stats=1", args.corpus]
    atheris.Setup(libfuzzer, one_input)
    import atexit

    atexit.register(save)
    atheris.Fuzz()


def _keep(folder: Path, what: str, data: bytes, detail: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha1(data).hexdigest()[:16]
    (folder / f"{what}-{digest}.utpcap").write_bytes(data)
    (folder / f"{what}-{digest}.txt").write_text(detail)


# --- the parent ----------------------------------------------------------------------------------


def seed_corpus(into: Path) -> int:
    into.mkdir(parents=True, exist_ok=True)
    seeds = sorted([*ROOT.glob("captures/*.utpcap"), *ROOT.glob("tests/golden/*.utpcap")])
    for seed in seeds:
        shutil.copy(seed, into / seed.name)
    return len(seeds)


def run_target(name: str, args: argparse.Namespace, scratch: Path) -> dict[str, object]:
    corpus = scratch / f"corpus-{name}"
    seed_corpus(corpus)
    stats_path = scratch / f"stats-{name}.json"
    cmd = [sys.executable, __file__, "--worker", "--target", name, "--stats", str(stats_path),
           "--corpus", str(corpus), "--seconds", str(args.seconds), "--rss-mb", str(args.rss_mb),
           "--input-seconds", str(args.input_seconds), "--out", args.out]
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=scratch)
    elapsed = time.monotonic() - started
    stats: dict[str, object] = json.loads(stats_path.read_text()) if stats_path.exists() else {"target": name}
    stats["seconds"] = round(elapsed, 1)
    stats["libfuzzer_exit"] = proc.returncode
    tail = proc.stderr.splitlines()
    runs = [line for line in tail if "stat::number_of_executed_units" in line]
    stats["libfuzzer_units"] = int(runs[-1].split(":")[-1]) if runs else None
    cov = [line for line in tail if line.startswith("#") and "cov:" in line]
    stats["coverage"] = cov[-1].split("cov:")[1].split()[0] if cov else None
    stats["corpus_files"] = len(list(corpus.iterdir()))
    fatal = [line for line in tail if "ERROR: libFuzzer" in line or "out-of-memory" in line]
    stats["libfuzzer_findings"] = fatal
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", default=None, help=f"any of {', '.join(TARGETS)}")
    parser.add_argument("--seconds", type=int, default=120, help="fuzzing time per target")
    parser.add_argument("--rss-mb", type=int, default=2048, help="memory limit per worker")
    parser.add_argument("--input-seconds", type=float, default=10.0, help="hang limit per input")
    parser.add_argument("--out", default=str(ROOT / "build" / "fuzz"), help="where crashing inputs go")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--stats", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args()
    if args.worker:
        sys.argv = [sys.argv[0]]
        worker(args)
        return
    names = args.targets or TARGETS
    try:
        import importlib.util

        has_repair = importlib.util.find_spec("utauproxy.capture.repair") is not None
    except ImportError:
        has_repair = False
    if "repair" in names and not has_repair:
        print("repair: utauproxy/capture/repair.py does not exist yet; skipped")
        names = [n for n in names if n != "repair"]
    scratch = Path(tempfile.mkdtemp(prefix="fuzz-capture-"))
    results = []
    try:
        for name in names:
            print(f"fuzzing {name} for {args.seconds} s ...", flush=True)
            results.append(run_target(name, args, scratch))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print()
    print(f"{'target':8s} {'inputs':>9s} {'crashes':>8s} {'hangs':>6s} {'slowest s':>9s} "
          f"{'peak RSS MB':>11s} {'cov':>6s} {'corpus':>6s} {'seconds':>7s}")
    for s in results:
        print(f"{s['target']!s:8s} {s.get('inputs', 0)!s:>9s} {s.get('crashes', 0)!s:>8s} "
              f"{s.get('hangs', 0)!s:>6s} {float(s.get('max_input_seconds', 0.0)):9.3f} "  # type: ignore[arg-type]
              f"{float(s.get('peak_rss_mb', 0.0)):11.1f} {s.get('coverage')!s:>6s} "  # type: ignore[arg-type]
              f"{s.get('corpus_files')!s:>6s} {s['seconds']!s:>7s}")
        for kind, count in dict(s.get("crash_kinds", {})).items():  # type: ignore[call-overload]
            print(f"    crash x{count}: {kind}")
        for line in s.get("libfuzzer_findings", []):  # type: ignore[attr-defined]
            print(f"    libFuzzer: {line}")
    total = sum(int(s.get("inputs", 0)) for s in results)  # type: ignore[call-overload]
    bad = sum(int(s.get("crashes", 0)) + int(s.get("hangs", 0)) for s in results)  # type: ignore[call-overload]
    print(f"total: {total} inputs, {bad} crashes or hangs; inputs kept under {args.out}/crashes")
    sys.exit(1 if bad or any(s.get("libfuzzer_findings") for s in results) else 0)


if __name__ == "__main__":
    main()
