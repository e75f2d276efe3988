"""Finding the audio of an updateAudio line and the part each hash renders (pure)."""

from __future__ import annotations

import base64

from utauproxy.protocol.audio_line import AudioText, Base64Text, audio_texts, layout_slots


def test_audio_texts_are_the_values_with_their_hash_keys() -> None:
    raw = b'notification:updateAudio {"audios":{"-630150190":"KLUv/SAY","17":"QUJD","x1":"QUJDRA=="}}'
    texts = audio_texts(raw)
    assert [raw[t.start:t.end] for t in texts] == [b"KLUv/SAY", b"QUJD", b"QUJDRA=="]
    assert [t.key for t in texts] == [-630150190, 17, None]


def test_audio_texts_skip_short_values_and_other_lines() -> None:
    raw = b'notification:updateAudio {"audios":{"1":"QUJD","2":"' + b"A" * 2000 + b'"}}'
    assert audio_texts(raw, min_length=1024) == [AudioText(raw.index(b"AAAA"), len(raw) - 3, 2)]
    assert audio_texts(b'notification:updateUstx {"ustx":"' + b"A" * 2000 + b'"}') == []
    assert audio_texts(b'notification:updateAudio {"audios":{"1":"unterminated') == []


def test_audio_texts_of_hostile_keys_are_found_without_a_key() -> None:
    long_number = b"9" * 5000  # int() of this would raise: Python caps digit strings
    raw = b'notification:updateAudio {"audios":{"' + long_number + b'":"QUJD","":"QUJD"}}'
    assert [t.key for t in audio_texts(raw)] == [None, None]


def test_layout_slots_map_each_hash_to_its_track_and_start() -> None:
    body = (b'{"parts":[{"trackNo":0,"startMs":0.0,"endMs":5.0,"audioHash":-5},'
            b'{"trackNo":1,"startMs":480,"endMs":900.0,"audioHash":7},'
            b'{"trackNo":2,"startMs":1.0,"endMs":2.0,"audioHash":-5},'
            b'{"trackNo":3,"startMs":1.0,"endMs":2.0},'
            b'{"trackNo":true,"startMs":1.0,"endMs":2.0,"audioHash":9}, 5]}')
    assert layout_slots(body) == {-5: (0, 0.0), 7: (1, 480.0)}


def test_layout_slots_of_anything_else_are_empty() -> None:
    for body in (b"", b"not json", b"[1,2]", b'{"parts":3}', b'{"parts":[{"startMs":"a"}]}', b"[" * 100_000):
        assert layout_slots(body) == {}


def test_base64_text_is_proven_piece_by_piece_and_whole() -> None:
    payload = bytes(range(256)) * 20_000  # 5 MB: two pieces
    text = base64.b64encode(payload)
    assert Base64Text(memoryview(text)).exact() == payload
    assert Base64Text(memoryview(text)).decoded_len == len(payload)
    assert b"".join(Base64Text(memoryview(text)).exact_pieces()) == payload


def test_base64_text_that_only_decodes_piece_by_piece_is_refused() -> None:
    # Padding right at a piece boundary: each piece alone is canonical, the whole is not.
    first = base64.b64encode(b"x" * (3 * (1 << 20) - 1))
    assert len(first) == 4 << 20 and first.endswith(b"=")
    assert Base64Text(memoryview(first + b"QUJD")).exact() is None


def test_base64_text_with_stray_bits_or_odd_characters_is_refused() -> None:
    for text in (b"QR==", b"QUJ", b"QU\nJD", b"QUJD=", b"-_-_", b"QUJDRA==QUJD"):
        assert Base64Text(memoryview(text)).exact() is None, text
    assert Base64Text(memoryview(b"")).exact() == b""
