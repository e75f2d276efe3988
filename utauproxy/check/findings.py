"""What `check` reports: one Finding per broken rule, naming the message it concerns and the
PROTOCOL.md section it breaks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from utauproxy.inspect.fmt import seconds


@dataclass(frozen=True, slots=True)
class Finding:
    """`rule` is a stable id (`unanswered-request`), `family` its group (`requests`),
    `section` a PROTOCOL.md section (`§3.1`). index/ts_ns/conn locate the record concerned
    (None for findings about the capture as a whole)."""

    rule: str
    family: str
    section: str
    message: str
    index: int | None = None
    ts_ns: int | None = None
    conn: int | None = None

    @property
    def sort_key(self) -> tuple[int, int, str]:
        return (self.index if self.index is not None else 1 << 62,
                self.ts_ns if self.ts_ns is not None else 0, self.rule)

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "family": self.family, "section": f"PROTOCOL.md {self.section}",
                "index": self.index, "ts_ns": self.ts_ns, "conn": self.conn, "message": self.message}

    def render(self) -> str:
        """One line: where, which section, which rule, what."""
        where = f"[{self.index}]" if self.index is not None else "[-]"
        when = f"{seconds(self.ts_ns)} s" if self.ts_ns is not None else ""
        conn = f"#{self.conn}" if self.conn is not None else ""
        return (f"{where:>8} {when:>12} {conn:<4} PROTOCOL.md {self.section:<6} "
                f"{self.rule}: {self.message}")
