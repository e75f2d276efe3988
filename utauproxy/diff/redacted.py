"""Diffing a redacted capture (docs/redaction.md "Comparing"): both sides must be in the same
form, so a pseudonym is compared with a pseudonym, never with the value it hides.

- Neither side redacted, or both with the same key: compared as they are.
- One side redacted, its key on this machine: the other side is redacted into a temporary
  copy with the same rules and key, and that copy is compared.
- Otherwise the pseudonyms cannot be lined up, and saying "everything differs" would be a lie:
  a DiffError says what to do instead.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from utauproxy.capture import CaptureReader, CaptureWriter
from utauproxy.errors import UtauproxyError
from utauproxy.records import CaptureHeader
from utauproxy.redact import Redactor, manifest_of
from utauproxy.redact.compare import comparison_redactor


class DiffError(UtauproxyError):
    """Two captures that cannot be compared as asked."""


@contextmanager
def comparable_pair(path_a: Path, path_b: Path, key_path: Path | None = None) -> Iterator[tuple[Path, Path]]:
    """The two files to compare in place of `path_a` and `path_b` (see the module docstring).
    A temporary copy keeps its original's file name and is removed afterwards."""
    header_a, header_b = _header(path_a), _header(path_b)
    key_a, key_b = _key_id(header_a), _key_id(header_b)
    if key_a == key_b:
        yield path_a, path_b
        return
    if key_a is not None and key_b is not None:
        raise DiffError(f"{path_a.name} and {path_b.name} were redacted with different keys "
                        f"({key_a}, {key_b}): their pseudonyms cannot be compared. Bundle both "
                        "captures on one machine (the same key), or diff the originals.")
    redacted, plain = (path_a, path_b) if key_a is not None else (path_b, path_a)
    redactor = comparison_redactor(header_a if key_a is not None else header_b, key_path)
    if redactor is None:
        raise DiffError(f"{redacted.name} is redacted with key {key_a or key_b}, which is not on "
                        f"this machine, so {plain.name} cannot be redacted the same way. Diff it "
                        "against another capture redacted with that key, or on the machine that "
                        "made it.")
    with tempfile.TemporaryDirectory(prefix="utauproxy-diff-") as folder:
        copy = Path(folder) / plain.name
        redact_capture_file(plain, copy, redactor)
        yield (path_a, copy) if plain is path_b else (copy, path_b)


def redact_capture_file(src: Path, dst: Path, redactor: Redactor) -> None:
    """Every record of `src`, redacted, into a new capture `dst`."""
    with CaptureReader.open(src) as reader:
        extra = dict(reader.footer.extra) if reader.footer is not None else {}
        with CaptureWriter.create(dst, redactor.header(reader.header)) as writer:
            for record in redactor.records(reader.records()):
                writer.write(record)
            writer.close(extra)


def _header(path: Path) -> CaptureHeader:
    with CaptureReader.open(path) as reader:
        return reader.header


def _key_id(header: CaptureHeader) -> str | None:
    manifest = manifest_of(header)
    return None if manifest is None else str(manifest.get("key_id", "?"))

