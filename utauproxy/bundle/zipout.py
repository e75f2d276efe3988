"""Writing the bundle's zip and putting it in place without overwriting anything."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

from utauproxy.bundle.readme import CAPTURE_MEMBER, ENVIRONMENT_MEMBER, README_MEMBER
from utauproxy.errors import UtauproxyError


class BundleError(UtauproxyError):
    """The bundle cannot be made as asked (output exists, cannot fit the size limit, ...)."""


def write_zip(path: Path, readme: str, environment: dict[str, Any], capture: Path) -> int:
    """README.txt and environment.json deflated, the capture stored (it is already zstd
    compressed). Returns the zip's size."""
    with zipfile.ZipFile(path, "x", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(README_MEMBER, readme.encode("utf-8"))
        archive.writestr(ENVIRONMENT_MEMBER,
                         json.dumps(environment, ensure_ascii=False, indent=2).encode("utf-8") + b"\n")
        archive.write(capture, CAPTURE_MEMBER, compress_type=zipfile.ZIP_STORED)
    path.chmod(0o600)  # like a capture: it is the user's to share, not the machine's
    return path.stat().st_size


def refuse_existing(path: Path) -> None:
    if os.path.lexists(path):
        raise BundleError(f"refusing to overwrite {str(path)!r}: it exists (choose another -o)")


def move_into_place(built: Path, dst: Path) -> None:
    """Move `built` to `dst`, failing if `dst` appeared meanwhile (a hard link is atomic and
    never replaces; where links are not possible, an exclusive create and a copy)."""
    try:
        os.link(built, dst)
    except FileExistsError:
        refuse_existing(dst)
        raise
    except OSError:
        try:
            with open(built, "rb") as source, open(dst, "xb") as target:
                shutil.copyfileobj(source, target, 1 << 20)
        except FileExistsError:
            refuse_existing(dst)
            raise
        except OSError as exc:
            raise BundleError(f"cannot write {str(dst)!r}: {exc}") from exc
    built.unlink()
