"""The `ustx` string (PROTOCOL.md §3.5): YAML inside a JSON string, redacted line by line.

Lines are split in the escaped bytes (on the two-byte escape `\\n`, checking that its backslash
is not itself escaped), so the untouched parts are never re-encoded. Each line goes through a
cache keyed by (classifier state, escaped line): resends of a project that differ by one edit
cost about a dict lookup per line.
"""

from __future__ import annotations

from collections.abc import Callable

from utauproxy.redact.escapes import raw_range, unescape
from utauproxy.redact.tokens import Category
from utauproxy.redact.yamlline import INITIAL_STATE, State, classify_line

# token_for(category, value) -> token, or None when the category's rule is kept.
TokenFor = Callable[[Category, str], "str | None"]
# known(value): the category of a value already seen in a sensitive field, else None.
KnownCategory = Callable[[str], "Category | None"]
_CACHE_LIMIT = 400_000
_NEWLINE = b"\\n"


def split_escaped_lines(content: bytes) -> list[bytes]:
    """JSON string contents split at escaped LFs (`\\n`), not at an escaped backslash + `n`."""
    pieces = content.split(_NEWLINE)
    if b"\\" + _NEWLINE not in content:
        return pieces  # no piece ends in a backslash: every split was a real `\\n`
    lines: list[bytes] = []
    pending: bytes | None = None
    for piece in pieces:
        if pending is not None:
            piece = pending + _NEWLINE + piece
            pending = None
        if piece.endswith(b"\\") and (len(piece) - len(piece.rstrip(b"\\"))) % 2 == 1:
            pending = piece  # that `\\n` was `\\\\` + `n`: glue the pieces back
            continue
        lines.append(piece)
    if pending is not None:
        lines.append(pending)
    return lines


class UstxRedactor:
    """Redacts escaped USTX text; `counts` collects how many values of each category changed."""

    def __init__(self, token_for: TokenFor, known: KnownCategory) -> None:
        self._token_for = token_for
        self._known = known
        # Classifier states are interned to small ints: a cache key hashes an int and the line.
        self._states: list[State] = [INITIAL_STATE]
        self._state_ids: dict[State, int] = {INITIAL_STATE: 0}
        self._cache: dict[tuple[int, bytes], tuple[bytes, int, tuple[Category, ...]]] = {}
        self.counts: dict[Category, int] = {}

    def redact(self, content: bytes) -> bytes:
        """Escaped USTX (JSON string contents, no quotes) in, its redacted form out."""
        state = 0
        out: list[bytes] = []
        append = out.append
        cache = self._cache
        changed_lines: list[tuple[Category, ...]] = []
        for line in split_escaped_lines(content):
            hit = cache.get((state, line))
            if hit is None:
                hit = self._miss(state, line)
            redacted, state, changed = hit
            if changed:
                changed_lines.append(changed)
            append(redacted)
        counts = self.counts
        for changed in changed_lines:
            for category in changed:
                counts[category] = counts.get(category, 0) + 1
        return _NEWLINE.join(out)

    def _miss(self, state: int, line: bytes) -> tuple[bytes, int, tuple[Category, ...]]:
        redacted, next_state, changed = self._line(self._states[state], line)
        next_id = self._state_ids.get(next_state)
        if next_id is None:
            next_id = len(self._states)
            self._states.append(next_state)
            self._state_ids[next_state] = next_id
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.clear()
        hit = (redacted, next_id, changed)
        self._cache[(state, line)] = hit
        return hit

    def _line(self, state: State, line: bytes) -> tuple[bytes, State, tuple[Category, ...]]:
        raw = line.decode("utf-8", "surrogateescape")
        text, starts = unescape(raw)
        try:
            spans, next_state = classify_line(state, text)
        except Exception:  # noqa: BLE001 - a classifier bug must not leak the line
            return self._whole_line(raw), INITIAL_STATE, ("text",)
        parts: list[str] = []
        changed: list[Category] = []
        cursor = 0
        for span in spans:
            category = span.category if span.category is not None else self._known(span.value)
            if category is None:
                continue  # an allow-listed value (phonemizer, expression table …)
            token = self._token_for(category, span.value)
            if token is None:
                continue
            begin, end = raw_range(starts, span.start, span.end)
            if begin < cursor:
                continue
            parts.append(raw[cursor:begin])
            parts.append(token)
            changed.append(category)
            cursor = end
        if not changed:
            return line, next_state, ()
        parts.append(raw[cursor:])
        return "".join(parts).encode("utf-8", "surrogateescape"), next_state, tuple(changed)

    def _whole_line(self, raw: str) -> bytes:
        token = self._token_for("text", raw) or raw
        return token.encode("utf-8", "surrogateescape")
