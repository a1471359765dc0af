"""``fast_serde.langgraph._install.install()/uninstall()``: stock savers pick FastSerializer by default.

Every test leaves the patch uninstalled (autouse fixture), and the subprocess tests check the
behaviour in an interpreter where nothing was imported before ``install()``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
import warnings
from operator import add
from typing import Annotated

import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from typing_extensions import TypedDict

import langgraph.checkpoint.sqlite as lg_sqlite
import langgraph.checkpoint.sqlite.aio as lg_sqlite_aio
from fast_serde.langgraph._install import install, uninstall
from fast_serde.langgraph import FastSerializer
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.postgres.shallow import AsyncShallowPostgresSaver, ShallowPostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

ORIGINAL_DEFAULT = BaseCheckpointSaver.__dict__["serde"]
ORIGINAL_SQLITE_CLS = lg_sqlite.__dict__["JsonPlusSerializer"]
ORIGINAL_SQLITE_AIO_CLS = lg_sqlite_aio.__dict__["JsonPlusSerializer"]


@pytest.fixture(autouse=True)
def _always_uninstalled():
    uninstall()
    assert BaseCheckpointSaver.__dict__["serde"] is ORIGINAL_DEFAULT
    yield
    uninstall()


def _pg_savers() -> list[BaseCheckpointSaver]:
    """The four Postgres savers, constructed without a server (their __init__ only stores the
    connection; the async ones need a running loop)."""
    conn = object()

    async def build_async() -> list[BaseCheckpointSaver]:
        return [AsyncPostgresSaver(conn), AsyncShallowPostgresSaver(conn)]

    with warnings.catch_warnings():  # the shallow savers are deprecated, not gone
        warnings.simplefilter("ignore", DeprecationWarning)
        return [PostgresSaver(conn), ShallowPostgresSaver(conn), *asyncio.run(build_async())]


async def _async_sqlite_saver(serde=None) -> AsyncSqliteSaver:
    # __init__ only stores the connection (and the running loop); nothing is opened.
    return AsyncSqliteSaver(object(), serde=serde)  # type: ignore[arg-type]


def _all_default_savers() -> list[BaseCheckpointSaver]:
    return [
        InMemorySaver(),
        SqliteSaver(sqlite3.connect(":memory:", check_same_thread=False)),
        asyncio.run(_async_sqlite_saver()),
        *_pg_savers(),
    ]


def test_stock_default_is_jsonplus_before_install():
    for saver in _all_default_savers():
        assert type(saver.serde) is JsonPlusSerializer, type(saver).__name__


def test_install_makes_every_stock_saver_use_fast_serializer():
    install()
    savers = _all_default_savers()
    assert len(savers) == 7
    for saver in savers:
        assert isinstance(saver.serde, FastSerializer), type(saver).__name__
    # One shared instance, as the stock default is one shared JsonPlusSerializer.
    assert len({id(s.serde) for s in savers}) == 1


def test_install_replaces_the_serializer_sqlite_savers_pin_themselves():
    install()
    sync = SqliteSaver(sqlite3.connect(":memory:", check_same_thread=False))
    asyn = asyncio.run(_async_sqlite_saver())
    assert isinstance(sync.jsonplus_serde, FastSerializer)
    assert isinstance(asyn.jsonplus_serde, FastSerializer)
    uninstall()
    sync = SqliteSaver(sqlite3.connect(":memory:", check_same_thread=False))
    assert type(sync.jsonplus_serde) is JsonPlusSerializer


class _NullCipher:
    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        return "null", plaintext

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes:
        return ciphertext


@pytest.mark.parametrize(
    "explicit",
    [
        JsonPlusSerializer(),
        JsonPlusSerializer(pickle_fallback=True),
        EncryptedSerializer(_NullCipher()),
        FastSerializer(),
    ],
    ids=["jsonplus", "jsonplus-pickle", "encrypted", "fast"],
)
def test_explicit_serde_is_untouched(explicit):
    install()
    savers = [
        InMemorySaver(serde=explicit),
        SqliteSaver(sqlite3.connect(":memory:"), serde=explicit),
        asyncio.run(_async_sqlite_saver(serde=explicit)),
        PostgresSaver(object(), serde=explicit),  # type: ignore[arg-type]
    ]
    for saver in savers:
        assert saver.serde is explicit, type(saver).__name__


def test_savers_created_before_install_keep_their_serializer():
    before = InMemorySaver()
    install()
    assert type(before.serde) is JsonPlusSerializer
    assert isinstance(InMemorySaver().serde, FastSerializer)


def test_uninstall_restores_the_exact_originals():
    install()
    assert BaseCheckpointSaver.__dict__["serde"] is not ORIGINAL_DEFAULT
    assert lg_sqlite.JsonPlusSerializer is FastSerializer
    assert lg_sqlite_aio.JsonPlusSerializer is FastSerializer
    uninstall()
    assert BaseCheckpointSaver.__dict__["serde"] is ORIGINAL_DEFAULT
    assert lg_sqlite.__dict__["JsonPlusSerializer"] is ORIGINAL_SQLITE_CLS is JsonPlusSerializer
    assert lg_sqlite_aio.__dict__["JsonPlusSerializer"] is ORIGINAL_SQLITE_AIO_CLS
    for saver in _all_default_savers():
        assert saver.serde is ORIGINAL_DEFAULT, type(saver).__name__


def test_install_and_uninstall_are_idempotent():
    install()
    shared = BaseCheckpointSaver.__dict__["serde"]
    install()
    assert BaseCheckpointSaver.__dict__["serde"] is shared
    uninstall()
    assert BaseCheckpointSaver.__dict__["serde"] is ORIGINAL_DEFAULT
    uninstall()
    assert BaseCheckpointSaver.__dict__["serde"] is ORIGINAL_DEFAULT
    assert lg_sqlite.JsonPlusSerializer is JsonPlusSerializer
    # And it can be installed again after an uninstall.
    install()
    assert isinstance(InMemorySaver().serde, FastSerializer)


def test_uninstall_leaves_a_later_replacement_alone():
    install()
    theirs = JsonPlusSerializer(pickle_fallback=True)
    BaseCheckpointSaver.serde = theirs
    try:
        uninstall()
        assert BaseCheckpointSaver.__dict__["serde"] is theirs
        assert lg_sqlite.JsonPlusSerializer is JsonPlusSerializer  # still ours: restored
    finally:
        BaseCheckpointSaver.serde = ORIGINAL_DEFAULT


def test_with_allowlist_keeps_fast_serializer():
    install()
    saver = InMemorySaver().with_allowlist([("decimal", "Decimal")])
    assert isinstance(saver.serde, FastSerializer)


class _State(TypedDict):
    items: Annotated[list, add]


def test_graph_checkpoints_go_through_fast_serializer(tmp_path, monkeypatch):
    from langgraph.graph import START, StateGraph

    calls = {"dumps": 0, "loads": 0}
    real_dumps, real_loads = FastSerializer.dumps_typed, FastSerializer.loads_typed

    def dumps_typed(self, obj):
        calls["dumps"] += 1
        return real_dumps(self, obj)

    def loads_typed(self, data):
        calls["loads"] += 1
        return real_loads(self, data)

    monkeypatch.setattr(FastSerializer, "dumps_typed", dumps_typed)
    monkeypatch.setattr(FastSerializer, "loads_typed", loads_typed)

    builder = StateGraph(_State)
    builder.add_node("step", lambda state: {"items": [len(state["items"])]})
    builder.add_edge(START, "step")
    install()
    with SqliteSaver.from_conn_string(str(tmp_path / "g.sqlite")) as saver:
        graph = builder.compile(checkpointer=saver)
        config = {"configurable": {"thread_id": "t"}}
        graph.invoke({"items": ["a"]}, config)
        graph.invoke({"items": ["b"]}, config)
        assert graph.get_state(config).values == {"items": ["a", 1, "b", 3]}
    assert calls["dumps"] > 0 and calls["loads"] > 0

    # What was written reads back identically with the stock serializer.
    uninstall()
    with SqliteSaver.from_conn_string(str(tmp_path / "g.sqlite")) as saver:
        assert type(saver.serde) is JsonPlusSerializer
        graph = builder.compile(checkpointer=saver)
        assert graph.get_state(config).values == {"items": ["a", 1, "b", 3]}


def _fresh_python(code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_install_before_the_savers_are_imported():
    out = _fresh_python(
        """
        import sys
        from fast_serde.langgraph._install import install
        assert "langgraph.checkpoint.memory" not in sys.modules
        install()
        import sqlite3
        from langgraph.checkpoint.memory import InMemorySaver
        from langgraph.checkpoint.sqlite import SqliteSaver
        saver = SqliteSaver(sqlite3.connect(":memory:"))
        print(type(InMemorySaver().serde).__name__, type(saver.serde).__name__,
              type(saver.jsonplus_serde).__name__)
        """
    )
    assert out == "FastSerializer FastSerializer FastSerializer"


def test_uninstall_in_a_fresh_process_restores_jsonplus():
    out = _fresh_python(
        """
        from fast_serde.langgraph._install import install, uninstall
        install(); install(); uninstall()
        from langgraph.checkpoint.memory import InMemorySaver
        print(type(InMemorySaver().serde).__name__)
        """
    )
    assert out == "JsonPlusSerializer"
