"""Conformance of a capture to PROTOCOL.md, pure: decoded records in, findings out.

One module per family of rules (lines, requests, shapes, audio, timing, version); the engine
keeps the shared bookkeeping. Every Finding names the record it concerns and the section of
PROTOCOL.md it breaks.
"""

from utauproxy.check.context import CheckOptions
from utauproxy.check.engine import ALL_RULES, FAMILIES, Checker, CheckReport, check_items, check_records
from utauproxy.check.findings import Finding

__all__ = ["ALL_RULES", "FAMILIES", "CheckOptions", "CheckReport", "Checker", "Finding", "check_items", "check_records"]
