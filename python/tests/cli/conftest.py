"""Fixtures of the tests of cli/: the two SQLite stores, once per test module, that stock
LangGraph writes by running the graph of cli_helpers.py (a small ``StateGraph`` with messages,
bytes, UUID, datetime, Decimal, Path, set, Enum, pydantic model, dataclass, and a subgraph with
its own checkpoint namespace) through ``SqliteSaver``, with JsonPlusSerializer and with
FastSerializer; ``db`` runs a test on each. The tests take their expected values from the stock
savers' own API (``list``/``get_tuple``) and raw SQL, never from inspect_cli."""

from __future__ import annotations

from pathlib import Path

import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from fast_serde.langgraph import FastSerializer

from cli_helpers import write_sqlite


@pytest.fixture(scope="module")
def dbs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("inspect")
    return {
        "jsonplus": write_sqlite(root / "jsonplus.sqlite", JsonPlusSerializer()),
        "fast": write_sqlite(root / "fast.sqlite", FastSerializer()),
    }


@pytest.fixture(params=["jsonplus", "fast"])
def db(request, dbs) -> Path:
    return dbs[request.param]
