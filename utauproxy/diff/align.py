"""Pass 2, first half: which message of A corresponds to which message of B. Pure.

Connections are paired in the order they opened. Within a pair, each direction's messages
(pings, responses and answered frames left out) are aligned as sequences: first on kind and
content, so identical messages anchor the alignment wherever they sit; then, between anchors,
on kind alone, so a changed message still pairs with its counterpart and an extra one shows up
as only in A or only in B. Responses are not aligned at all: each follows its request (ids are
noise, and the plugin answers out of order, PROTOCOL.md §6.2).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from utauproxy.diff.canon import pieces, similarity
from utauproxy.diff.summary import CaptureSummary, ConnectionSummary, MessageSummary
from utauproxy.records import Direction


@dataclass(frozen=True, slots=True)
class Aligned:
    """A message of A and its counterpart in B; one side is None when it has none."""

    conn_a: int | None
    conn_b: int | None
    a: MessageSummary | None
    b: MessageSummary | None

    @property
    def direction(self) -> Direction:
        message = self.a or self.b
        assert message is not None
        return message.direction

    @property
    def label(self) -> str:
        message = self.a or self.b
        assert message is not None
        return message.label


@dataclass(frozen=True, slots=True)
class ConnectionPair:
    a: ConnectionSummary | None
    b: ConnectionSummary | None
    messages: list[Aligned]


def align_captures(a: CaptureSummary, b: CaptureSummary) -> list[ConnectionPair]:
    """Every connection of either capture, paired by order, with its messages aligned."""
    conns_a = [c for c in a.connections if c.messages or c.pings]
    conns_b = [c for c in b.connections if c.messages or c.pings]
    pairs = []
    for index in range(max(len(conns_a), len(conns_b))):
        left = conns_a[index] if index < len(conns_a) else None
        right = conns_b[index] if index < len(conns_b) else None
        pairs.append(ConnectionPair(left, right, align_connection(left, right)))
    return pairs


def align_connection(a: ConnectionSummary | None, b: ConnectionSummary | None) -> list[Aligned]:
    """The aligned messages of one connection pair, in A's order (B's extras where they fall)."""
    conn_a, conn_b = (a.conn if a else None), (b.conn if b else None)
    msgs_a, msgs_b = (a.messages if a else []), (b.messages if b else [])
    aligned: list[Aligned] = []
    for direction in Direction:
        for stream in _streams(msgs_a, msgs_b, direction):
            left = [m for m in msgs_a if m.direction is direction and _stream(m) == stream]
            right = [m for m in msgs_b if m.direction is direction and _stream(m) == stream]
            aligned.extend(Aligned(conn_a, conn_b, x, y) for x, y in align_sequences(left, right))
    aligned.extend(_answers(aligned, msgs_a, msgs_b, conn_a, conn_b))
    aligned.sort(key=_order)
    return aligned


# OpenUtau's two independent debounces (PROTOCOL.md §3.6.5, §5.1): the order *between* the
# groups varies from run to run (and from version to version, as the delays changed in §4),
# the order inside each is fixed. Each group is aligned on its own.
_DEBOUNCE_GROUPS = {
    "notification:updateUstx": "ustx",
    "notification:updateTracks": "ustx",
    "notification:updateProjectInfo": "ustx",
    "request:updatePartLayout": "layout",
    "notification:updateAudio": "layout",
    "audio": "layout",
}


def _stream(message: MessageSummary) -> str | None:
    """The sequence a message is aligned in; None for answers (they follow their request)."""
    if message.answers is not None:
        return None
    return _DEBOUNCE_GROUPS.get(message.label, "control")


def _streams(a: list[MessageSummary], b: list[MessageSummary], direction: Direction) -> list[str]:
    found = {_stream(m) for m in (*a, *b) if m.direction is direction}
    return sorted(s for s in found if s is not None)


def _order(item: Aligned) -> tuple[int, int]:
    if item.a is not None:
        return (item.a.position, 0)
    assert item.b is not None
    return (item.b.position, 1)


def align_sequences(a: Sequence[MessageSummary], b: Sequence[MessageSummary],
                    ) -> list[tuple[MessageSummary | None, MessageSummary | None]]:
    """Sequence alignment in three rounds, each only between the anchors of the one before:
    messages unique on both sides with the same (label, content, audio referred to), then
    with the same (label, content), then any two of one kind, preferring the pairs that have
    most in common (see `_by_similarity`)."""
    out: list[tuple[MessageSummary | None, MessageSummary | None]] = []
    _align(a, b, (_exact, _content), out)
    return out


def _exact(message: MessageSummary) -> Hashable:
    return (message.label, message.fingerprint, tuple(ref.value for ref in message.refs))


def _content(message: MessageSummary) -> Hashable:
    # Hash values left out: a layout of the same parts whose audio was rendered differently.
    return (message.label, message.fingerprint)


def _kind(message: MessageSummary) -> Hashable:
    return message.label


def _align(a: Sequence[MessageSummary], b: Sequence[MessageSummary],
           keys: tuple[Callable[[MessageSummary], Hashable], ...],
           out: list[tuple[MessageSummary | None, MessageSummary | None]]) -> None:
    if not keys:
        _by_similarity(a, b, out)
        return
    for left, right, same in _blocks(a, b, keys[0], unique=True):
        if same:
            out.extend(zip(left, right, strict=True))
        else:
            _align(left, right, keys[1:], out)


# Above this many cells the last round pairs by label and order alone (a few seconds of
# Python at most; blocks this large are rare: unique identical messages cut them short).
MAX_SIMILARITY_CELLS = 1_500_000
_SAME_KIND = 0.01  # two messages of one kind pair rather than both stay unmatched

Pairs = list[tuple[MessageSummary | None, MessageSummary | None]]


def _by_similarity(a: Sequence[MessageSummary], b: Sequence[MessageSummary], out: Pairs) -> None:
    """Global alignment (Needleman-Wunsch) of messages that differ: only messages of one kind
    pair, and a pair scores by the pieces the two have in common, so when one side has an
    extra resend the others still pair with their true counterparts, not by position."""
    if not a or not b or len(a) * len(b) > MAX_SIMILARITY_CELLS:
        _by_order(a, b, out)
        return
    pieces_a, pieces_b = [pieces(m.components) for m in a], [pieces(m.components) for m in b]

    def pair_score(i: int, j: int) -> float | None:
        if a[i].label != b[j].label:
            return None
        return _SAME_KIND + similarity(pieces_a[i], pieces_b[j])

    width = len(b) + 1
    score = [0.0] * ((len(a) + 1) * width)
    for i in range(1, len(a) + 1):
        row, above = i * width, (i - 1) * width
        for j in range(1, len(b) + 1):
            best = max(score[above + j], score[row + j - 1])
            paired = pair_score(i - 1, j - 1)
            if paired is not None:
                best = max(best, score[above + j - 1] + paired)
            score[row + j] = best
    pairs: Pairs = []
    i, j = len(a), len(b)
    while i and j:
        here, paired = score[i * width + j], pair_score(i - 1, j - 1)
        if paired is not None and here == score[(i - 1) * width + j - 1] + paired:
            pairs.append((a[i - 1], b[j - 1]))
            i, j = i - 1, j - 1
        elif here == score[(i - 1) * width + j]:
            pairs.append((a[i - 1], None))
            i -= 1
        else:
            pairs.append((None, b[j - 1]))
            j -= 1
    pairs.extend((a[k], None) for k in range(i - 1, -1, -1))
    pairs.extend((None, b[k]) for k in range(j - 1, -1, -1))
    out.extend(reversed(pairs))


def _by_order(a: Sequence[MessageSummary], b: Sequence[MessageSummary], out: Pairs) -> None:
    """Messages of one kind paired in order; the rest unmatched."""
    for left, right, same in _blocks(a, b, _kind):
        if same:
            out.extend(zip(left, right, strict=True))
        else:
            out.extend((m, None) for m in left)
            out.extend((None, m) for m in right)


def _blocks(a: Sequence[MessageSummary], b: Sequence[MessageSummary],
            key: Callable[[MessageSummary], Hashable], *, unique: bool = False,
            ) -> Iterator[tuple[Sequence[MessageSummary], Sequence[MessageSummary], bool]]:
    """(a slice, b slice, whether their keys are equal) covering both sequences in order.
    With `unique`, only keys that occur once on each side may match (patience diff's rule):
    an unchanged updateTracks resent after every edit says nothing about which edit is which,
    and anchoring on it would pair resends by position."""
    keys_a, keys_b = [key(m) for m in a], [key(m) for m in b]
    if unique:
        counts = Counter(keys_a)
        counts_b = Counter(keys_b)
        keys_a = [k if counts[k] == 1 and counts_b[k] == 1 else object() for k in keys_a]
        keys_b = [k if counts[k] == 1 and counts_b[k] == 1 else object() for k in keys_b]
    matcher = SequenceMatcher(None, keys_a, keys_b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        yield a[i1:i2], b[j1:j2], tag == "equal"


def _answers(aligned: list[Aligned], msgs_a: list[MessageSummary], msgs_b: list[MessageSummary],
             conn_a: int | None, conn_b: int | None) -> list[Aligned]:
    """Responses (and pulled frames) paired through the requests they answer."""
    request_map = {item.a.position: item.b.position for item in aligned
                   if item.a is not None and item.b is not None}
    answers_b: dict[int, list[MessageSummary]] = {}
    for message in msgs_b:
        if message.answers is not None:
            answers_b.setdefault(message.answers, []).append(message)
    out = []
    for message in msgs_a:
        if message.answers is None:
            continue
        target = request_map.get(message.answers)
        candidates = answers_b.get(target, []) if target is not None else []
        match = next((m for m in candidates if m.label == message.label), None)
        if match is None and candidates:
            match = candidates[0]
        if match is not None:
            candidates.remove(match)
        out.append(Aligned(conn_a, conn_b, message, match))
    out.extend(Aligned(conn_a, conn_b, None, m) for left in answers_b.values() for m in left)
    return out
