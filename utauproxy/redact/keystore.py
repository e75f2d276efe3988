"""The per-user redaction key: one file, so every bundle a user makes uses the same pseudonyms
(maintainers can see that two reports are about the same project) while nobody without the
file can map a token back to a value. The only file I/O in utauproxy.redact."""

from __future__ import annotations

import os
from pathlib import Path

import click

from utauproxy.errors import UtauproxyError
from utauproxy.redact.tokens import key_id_of

KEY_ENV = "UTAUPROXY_REDACTION_KEY"
KEY_BYTES = 32


class RedactionKeyError(UtauproxyError):
    """The key file exists but cannot be used (unreadable, wrong size)."""


def default_key_path() -> Path:
    """$UTAUPROXY_REDACTION_KEY if set, else click.get_app_dir("utauproxy")/redaction.key."""
    configured = os.environ.get(KEY_ENV)
    if configured:
        return Path(configured)
    return Path(click.get_app_dir("utauproxy")) / "redaction.key"


def _read_key(path: Path) -> bytes:
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise RedactionKeyError(f"cannot read redaction key {path}: {exc.strerror}") from None
    if len(key) != KEY_BYTES:
        raise RedactionKeyError(
            f"redaction key {path} holds {len(key)} bytes, expected {KEY_BYTES}; "
            "move it away to start a new key")
    return key


def load_or_create_key(path: Path | None = None) -> bytes:
    """The key at `path` (default_key_path()); created with mode 0600 from os.urandom(32) if
    missing. Creation is exclusive, so two processes starting at once agree on one key."""
    target = path if path is not None else default_key_path()
    if target.exists():
        return _read_key(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    key = os.urandom(KEY_BYTES)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(target)
    except OSError as exc:
        raise RedactionKeyError(f"cannot create redaction key {target}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def load_key_for(key_id: str, path: Path | None = None) -> bytes | None:
    """The local key if its id is `key_id` (the capture was redacted on this machine), else
    None. Never creates a key."""
    target = path if path is not None else default_key_path()
    try:
        key = _read_key(target)
    except RedactionKeyError:
        return None
    return key if key_id_of(key) == key_id else None
