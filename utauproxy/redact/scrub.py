"""Free-text scrubbing: known sensitive values, the user's home folder and name, absolute paths.

Used where a string is not a field we understand (notices, error texts, marks, unknown JSON
fields, bytes outside any JSON string of a malformed line). Values learnt from structured
fields (lyrics, names, paths) are replaced wherever they occur later. Short values would turn
ordinary words into tokens, so an ASCII value is replaced only as a whole word of at least 3
characters (as a whole word below 6 characters, anywhere from 6), and a non-ASCII one only from
2 characters (a single kana is not identifying). A short ASCII lyric ("the", "sky") is an
ordinary English word that says nothing about the user, and replacing it garbled our own
sentences ("since lyric-… previous ping"), so it is not looked for in free text at all. The
structured fields themselves are always tokenised whatever their length.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from utauproxy.redact.tokens import Category

# Absolute paths: POSIX (two components or more, so "1/2" or "and/or" stay), `~/…`, Windows
# drive paths and UNC shares. A component stops at whitespace and quotes: a path with spaces
# loses only its first part, and the home/user rules still catch the user's name.
_PATH = re.compile(
    r"(?<![\w.~/\\-])(?:~|/(?:[^\s/\\\"'<>|]+))(?:/[^\s/\\\"'<>|]+)+/?"
    r"|(?<![\w])[A-Za-z]:[\\/](?:[^\s\\/\"'<>|:*?]+[\\/]?)*"
    r"|(?<![\w\\])\\\\[^\s\\\"'<>|]+(?:\\[^\s\\\"'<>|]+)+"
)
_ASCII_MIN = 3
_NON_ASCII_MIN = 2
_WHOLE_WORD_BELOW = 6  # shorter ASCII values are replaced only as whole words

TokenFor = Callable[[Category, str], str]


def _worth_scrubbing(category: Category, value: str) -> bool:
    if value.isascii():
        if category == "lyric" and len(value.strip()) < _WHOLE_WORD_BELOW:
            return False
        return len(value.strip()) >= _ASCII_MIN
    return len(value.strip()) >= _NON_ASCII_MIN


def _pattern_of(value: str) -> str:
    escaped = re.escape(value)
    if value.isascii() and len(value) < _WHOLE_WORD_BELOW:
        # Whole words only, so the lyric "sky" leaves "skyline" alone.
        lead = r"(?<![A-Za-z0-9])" if value[0].isalnum() else ""
        tail = r"(?![A-Za-z0-9])" if value[-1].isalnum() else ""
        return lead + escaped + tail
    return escaped


class TextScrubber:
    """Replaces sensitive values in free text by their tokens."""

    def __init__(self, token_for: TokenFor, *, user: str | None, home: str | None,
                 scrub_paths: bool) -> None:
        self._token_for = token_for
        self._known: dict[str, Category] = {}
        self._regex: re.Pattern[str] | None = None
        self._scrub_paths = scrub_paths
        self._user = user if user and len(user) >= 2 else None
        self._homes = _home_forms(home) if scrub_paths and home else ()

    def learn(self, category: Category, value: str) -> None:
        """Remember a value that a structured field held, to replace it in free text later."""
        if value not in self._known and _worth_scrubbing(category, value):
            self._known[value] = category
            self._regex = None

    def category_of(self, value: str) -> Category | None:
        """The category of a value learnt from a sensitive field, None if unknown."""
        return self._known.get(value)

    def scrub(self, text: str) -> str:
        """`text` with every known value, the home folder, the user name and absolute paths
        replaced by their tokens."""
        if not text:
            return text
        if self._known:
            text = self._known_regex().sub(self._replace_known, text)
        for home in self._homes:
            if home in text:
                text = text.replace(home, self._token_for("path", home))
        if self._scrub_paths:
            text = _PATH.sub(self._replace_path, text)
            if self._user is not None and self._user in text:
                text = re.sub(_pattern_of(self._user), self._token_for("user", self._user), text)
        return text

    def _known_regex(self) -> re.Pattern[str]:
        if self._regex is None:
            ordered = sorted(self._known, key=len, reverse=True)
            self._regex = re.compile("|".join(_pattern_of(value) for value in ordered))
        return self._regex

    def _replace_known(self, match: re.Match[str]) -> str:
        value = match.group(0)
        return self._token_for(self._known[value], value)

    def _replace_path(self, match: re.Match[str]) -> str:
        value = match.group(0)
        if value.startswith(("path-", "user-")):
            return value
        return self._token_for("path", value)


def _home_forms(home: str) -> tuple[str, ...]:
    """The home folder as it may appear: as given, with the other separator, and JSON-doubled
    backslashes are handled by callers (they scrub decoded text)."""
    stripped = home.rstrip("\\/")
    if len(stripped) < 2:
        return ()
    forms = {stripped, stripped.replace("\\", "/"), stripped.replace("/", "\\")}
    return tuple(sorted(forms, key=len, reverse=True))
