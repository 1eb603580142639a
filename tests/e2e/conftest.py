"""End-to-end renders run on one torch thread: reproducible, and fastest on a shared 2-core machine."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_thread(single_thread: None) -> None:
    """See tests/conftest.py."""
