"""Fixtures of every test of langgraph_serde/: the permissive allowlist default whatever
LANGGRAPH_STRICT_MSGPACK says, and an empty probe record (lg_probes.CONSTRUCTED)."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph._internal import _serde as _lg_internal_serde
from langgraph.checkpoint.serde import _msgpack as _lg_msgpack

from lg_probes import CONSTRUCTED


@pytest.fixture(autouse=True)
def _permissive_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """In this process the default is the permissive mode, whatever LANGGRAPH_STRICT_MSGPACK says
    (both serializers read the flag at construction; the env var is tested in subprocesses)."""
    monkeypatch.setattr(_lg_msgpack, "STRICT_MSGPACK_ENABLED", False)
    monkeypatch.setattr(_lg_internal_serde, "STRICT_MSGPACK_ENABLED", False)


@pytest.fixture(autouse=True)
def _reset_probe() -> Any:
    CONSTRUCTED.clear()
    yield
    CONSTRUCTED.clear()
