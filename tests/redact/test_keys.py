"""Key file, tokens, and the comparison helpers."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from utauproxy.records import CaptureHeader
from utauproxy.capture.reader import CaptureReader
from utauproxy.check import CheckOptions, check_records
from utauproxy.redact import (
    RedactionOptions,
    Redactor,
    check_rules_to_skip,
    comparison_redactor,
    default_key_path,
    is_token,
    load_key_for,
    load_or_create_key,
    tokens_match_unknown,
    with_manifest,
)
from utauproxy.redact.keystore import RedactionKeyError

from .helpers import message, ou_json

HEADER = CaptureHeader(1, 0, "utauproxy 0.1.0", "2026-01-01T00:00:00Z", "Linux", "auto")


def test_key_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "redaction.key"
    key = load_or_create_key(path)
    assert len(key) == 32 and load_or_create_key(path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    red = Redactor(RedactionOptions(key=key))
    assert load_key_for(red.key_id, path) == key
    assert load_key_for("0" * 16, path) is None
    assert load_key_for(red.key_id, tmp_path / "missing") is None
    path.write_bytes(b"short")
    with pytest.raises(RedactionKeyError):
        load_or_create_key(path)


def test_default_key_path_honours_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    monkeypatch.setenv("UTAUPROXY_REDACTION_KEY", str(tmp_path / "k"))
    assert default_key_path() == tmp_path / "k"
    monkeypatch.delenv("UTAUPROXY_REDACTION_KEY")
    assert default_key_path().name == "redaction.key"


def test_tokens_are_keyed_and_stable() -> None:
    raw = b"notification:updateTracks " + ou_json({"tracks": [{"name": "lead"}]})
    first = Redactor(RedactionOptions(key=b"a" * 32)).record(message(raw)).raw
    again = Redactor(RedactionOptions(key=b"a" * 32)).record(message(raw)).raw
    other = Redactor(RedactionOptions(key=b"b" * 32)).record(message(raw)).raw
    assert first == again != other
    token = first.split(b'"name":"')[1].split(b'"')[0].decode()
    assert is_token(token) and token.startswith("name-")
    assert not is_token("name-ABCDEFGH") and not is_token("lyric-abc")


def test_comparison_redactor_uses_the_local_key(tmp_path: Path) -> None:
    path = tmp_path / "redaction.key"
    key = load_or_create_key(path)
    red = Redactor(RedactionOptions(key=key, keep=frozenset({"audio"})))
    raw = b"notification:updateTracks " + ou_json({"tracks": [{"name": "lead"}]})
    recorded = red.record(message(raw)).raw
    header = with_manifest(HEADER, red.manifest())
    other = comparison_redactor(header, path)
    assert other is not None and other.options.keep == frozenset({"audio"})
    assert other.record(message(raw)).raw == recorded
    assert comparison_redactor(HEADER, path) is None
    os.remove(path)
    load_or_create_key(path)  # a different key: tokens cannot be reproduced here
    assert comparison_redactor(header, path) is None


def test_tokens_match_unknown_by_category() -> None:
    assert tokens_match_unknown("lyric-abcdefgh", "あ")
    assert tokens_match_unknown("lyric-abcdefgh", "lyric-zzzzzzzz")
    assert not tokens_match_unknown("lyric-abcdefgh", "name-zzzzzzzz")
    assert not tokens_match_unknown("lyric-abcdefgh", "")
    assert tokens_match_unknown("+", "+") and not tokens_match_unknown("+", "あ")


def test_check_rules_to_skip_covers_what_silenced_audio_breaks() -> None:
    capture = Path(__file__).parents[2] / "captures" / "sample-P6.utpcap"
    with CaptureReader.open(capture) as reader:
        records = list(reader.records())
    red = Redactor(RedactionOptions(key=bytes(32)))
    redacted = list(red.records(records))
    header = with_manifest(HEADER, red.manifest())
    skip = check_rules_to_skip(header)
    before = {f.rule for f in check_records(records).findings}
    assert {f.rule for f in check_records(redacted).findings} - before == {"audio-hash-mismatch"}
    assert {f.rule for f in check_records(redacted, CheckOptions(skip=skip)).findings} <= before
    assert check_rules_to_skip(HEADER) == frozenset()
    kept = Redactor(RedactionOptions(key=bytes(32), keep=frozenset({"audio"})))
    assert check_rules_to_skip(with_manifest(HEADER, kept.manifest())) == frozenset()
