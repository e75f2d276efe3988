"""Pseudonyms: the same value always gets the same token under one key (docs/redaction.md).

token = f"{category}-{base32(HMAC-SHA256(key, category + NUL + value))[:8].lower()}". A keyed
hash, not a plain one: lyrics are short, so an unkeyed hash would fall to a dictionary lookup.
A path token keeps the file's extension (`path-ab12cd34.ustx`) so a reader still sees what
kind of file it was.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Final, Literal, TypeAlias

Category: TypeAlias = Literal["lyric", "name", "singer", "path", "text", "user"]
CATEGORIES: Final[tuple[Category, ...]] = ("lyric", "name", "singer", "path", "text", "user")

# Which `--keep` rule switches a category off (a singer is a name; a user name travels in paths).
CATEGORY_RULE: Final[dict[Category, str]] = {
    "lyric": "lyrics",
    "name": "names",
    "singer": "names",
    "path": "paths",
    "user": "paths",
    "text": "text",
}

TOKEN_PATTERN: Final = r"(?:lyric|name|singer|path|text|user)-[a-z2-7]{8}(?:\.[A-Za-z0-9]{1,8})?"
_TOKEN_FULL = re.compile(TOKEN_PATTERN + r"\Z")
_TOKEN_PARTS = re.compile(r"(lyric|name|singer|path|text|user)-[a-z2-7]{8}(?:\.[A-Za-z0-9]{1,8})?\Z")
_EXTENSION = re.compile(r"\.([A-Za-z0-9]{1,8})\Z")
_CACHE_LIMIT = 500_000


def is_token(value: str) -> bool:
    """Whether `value` is exactly a pseudonym this package produces."""
    return _TOKEN_FULL.match(value) is not None


def token_category(value: str) -> str | None:
    """The category of a token (`lyric`, `name`, …), None for anything that is not a token."""
    match = _TOKEN_PARTS.match(value)
    return match.group(1) if match else None


def key_id_of(key: bytes) -> str:
    """16 hex characters naming a key without revealing it (a hash of a derived value)."""
    return hmac.new(key, b"utauproxy redaction key id", hashlib.sha256).hexdigest()[:16]


def _extension(value: str) -> str:
    tail = re.split(r"[\\/]", value.rstrip("\\/"))[-1]
    match = _EXTENSION.search(tail)
    return f".{match.group(1)}" if match and match.start() > 0 else ""


class Pseudonyms:
    """Tokens for values under one key, memoised (a project resend repeats every value)."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._memo: dict[tuple[str, str], str] = {}

    def token(self, category: Category, value: str) -> str:
        """The pseudonym of `value` in `category`."""
        memo_key = (category, value)
        found = self._memo.get(memo_key)
        if found is not None:
            return found
        message = (category + "\0" + value).encode("utf-8", "surrogatepass")
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        stem = base64.b32encode(digest).decode("ascii")[:8].lower()
        token = f"{category}-{stem}"
        if category == "path":
            token += _extension(value)
        if len(self._memo) > _CACHE_LIMIT:
            self._memo.clear()
        self._memo[memo_key] = token
        return token
