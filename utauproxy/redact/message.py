"""One message line (PROTOCOL.md §2.1, §5.1) in, its redacted bytes out.

Which JSON values are what, by key: `ustx` (updateUstx, the S init response, the v1.2 init
request, pre-P2 `status`) is USTX; values under `audios` (updateAudio) and `mixes` (P1
`status`) are audio; `name` (updateTracks, v1.2 updateProjectInfo, discovery-style bodies) and
`trackNames` (P1.1 `status`) are names; `singer` (v1.2 updateTracks) is a singer. Every other
string (errors, apiVersion, hashes, engine) keeps its bytes unless the free-text scrubber finds
a known value, the home folder or a path in it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from utauproxy.protocol.header import split_line
from utauproxy.redact.audio import AudioSilencer
from utauproxy.redact.escapes import unescape
from utauproxy.redact.jsonscan import Literal, redact_json, rewrite_text
from utauproxy.redact.tokens import Category
from utauproxy.redact.ustx import KnownCategory, UstxRedactor

_KINDS = (b"init|updateUstx|updateTracks|updatePartLayout|updateAudio|updateProjectInfo|ping|"
          b"playbackStarted|playhead|bpm|getAudio|status|error")
# Headers that cannot hold user text: the scrubber is skipped for them (a lyric such as "cafe"
# must not rewrite a request id).
_PLAIN_HEADER = re.compile(
    rb"(?:request:[0-9a-fA-F-]{1,64}:(?:" + _KINDS + rb")|response:[0-9a-fA-F-]{1,64}"
    rb"|notification:(?:" + _KINDS + rb")|close|audio|(?:" + _KINDS + rb"))\Z")
_NAME_KEYS = frozenset({"name", "trackName", "projectName"})
_AUDIO_PARENTS = frozenset({"audios", "mixes"})

TokenFor = Callable[[Category, str], "str | None"]
Scrub = Callable[[str], str]


class MessageRedactor:
    """Redacts message bytes; `audio_enabled` False leaves audio payloads alone."""

    def __init__(self, token_for: TokenFor, ustx_token_for: TokenFor, known: KnownCategory,
                 scrub: Scrub, audio: AudioSilencer, audio_enabled: bool) -> None:
        self._token_for = token_for
        self._scrub = scrub
        self.ustx = UstxRedactor(ustx_token_for, known)
        self.audio = audio
        self._audio_enabled = audio_enabled
        self.audio_changed = 0

    def line(self, raw: bytes) -> bytes:
        """A whole line (header, space, payload), without its LF."""
        head, payload = split_line(raw)
        if payload is None:
            return self.scrub_bytes(raw)
        redacted = head + b" " + self.payload(payload)
        if _PLAIN_HEADER.match(head):
            return redacted
        # Not a message we know: a value may run across the header/payload space.
        return self.scrub_bytes(redacted)

    def frame(self, raw: bytes) -> bytes:
        """An API v1.2 binary frame: header line, LF, payload (§5.1)."""
        newline = raw.find(b"\n")
        head = raw if newline < 0 else raw[:newline]
        fields = head.split(b" ")
        clean_head = head if (len(fields) == 3 and fields[0] == b"audio"
                              and fields[1].isdigit() and fields[2].isdigit()) else self.scrub_bytes(head)
        if newline < 0:
            return clean_head
        body = raw[newline:]
        if self._audio_enabled:
            self.audio_changed += 1
            body = self.audio.silence_frame(head + body)[len(head) :]
        return clean_head + body

    def payload(self, payload: bytes) -> bytes:
        """A JSON payload (valid or not)."""
        return redact_json(payload, self._value, self.scrub_bytes)

    def scrub_bytes(self, data: bytes) -> bytes:
        """Bytes of unknown structure through the free-text scrubber (invalid UTF-8 kept)."""
        text = data.decode("utf-8", "surrogateescape")
        scrubbed = self._scrub(text)
        return data if scrubbed == text else scrubbed.encode("utf-8", "surrogateescape")

    def _value(self, literal: Literal) -> bytes | None:
        key = literal.key
        if key == "ustx":
            return self.ustx.redact(literal.raw)
        if literal.parents and literal.parents[-1] in _AUDIO_PARENTS:
            return self._audio(literal) if self._audio_enabled else None
        category: Category | None = None
        if key in _NAME_KEYS or (literal.parents and literal.parents[-1] == "trackNames"):
            category = "name"
        elif key == "singer":
            category = "singer"
        if category is not None:
            text, _ = unescape(literal.raw.decode("utf-8", "surrogateescape"))
            if not text:
                return None
            token = self._token_for(category, text)
            return None if token is None else token.encode("ascii")
        return rewrite_text(literal.raw, self._scrub)

    def _audio(self, literal: Literal) -> bytes:
        text, _ = unescape(literal.raw.decode("utf-8", "surrogateescape"))
        self.audio_changed += 1
        hash_key = literal.key if literal.key is not None and literal.parents[-1] == "audios" else "?"
        return self.audio.silence_b64(hash_key, text).encode("ascii")
