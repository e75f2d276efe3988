"""Fixtures of the simulated-peer tests (helpers live in helpers.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
