"""Fixtures shared by the animation tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_thread(single_thread: None) -> None:
    """Every test here runs on one torch thread (see tests/conftest.py)."""
