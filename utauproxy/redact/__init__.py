"""Redaction of captures (docs/redaction.md): consistent keyed pseudonyms for lyrics, names,
paths and free text, silence for audio, a manifest of what changed.

Pure: bytes and records in, bytes and records out; the only file I/O is in keystore.py.
"""

from utauproxy.redact.compare import check_rules_to_skip, comparison_redactor, tokens_match_unknown
from utauproxy.redact.keystore import default_key_path, load_key_for, load_or_create_key
from utauproxy.redact.manifest import MANIFEST_KEY, RULES, manifest_of, with_manifest
from utauproxy.redact.redactor import RedactionOptions, Redactor
from utauproxy.redact.tokens import TOKEN_PATTERN, is_token

__all__ = [
    "MANIFEST_KEY",
    "RULES",
    "TOKEN_PATTERN",
    "RedactionOptions",
    "Redactor",
    "check_rules_to_skip",
    "comparison_redactor",
    "default_key_path",
    "is_token",
    "load_key_for",
    "load_or_create_key",
    "manifest_of",
    "tokens_match_unknown",
    "with_manifest",
]
