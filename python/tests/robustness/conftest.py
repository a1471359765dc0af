"""Fixtures of every test of robustness/: the langgraph logger quiet below ERROR."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(autouse=True)
def _quiet_langgraph_warnings():
    """The parent logs a warning per blocked / unreconstructable type; keep the output short."""
    lg = logging.getLogger("langgraph")
    old = lg.level
    lg.setLevel(logging.ERROR)
    yield
    lg.setLevel(old)
