"""7. A real graph: a StateGraph interrupted and resumed with InMemorySaver and SqliteSaver, written
by one serializer and read by the other, and in strict mode in a fresh process."""

from __future__ import annotations

import contextlib
import pathlib
import sqlite3
import textwrap
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

import lg_models as M
from fast_serde.langgraph import FastSerializer
from lg_helpers import _run_py, pair
from lg_strategies import assert_same


def _assert_final_state(values: dict[str, Any]) -> None:
    assert type(values["profile"]) is M.Profile
    assert type(values["profile"].address) is M.Address
    assert type(values["point"]) is M.Point
    assert values["profile"] == M.Profile(name="ada", age=1, tags=["x", "second"], address=M.Address(city="Paris", zip="75001"))
    assert values["point"] == M.Point(20, 4, label="second")
    assert values["log"] == ["first:Profile:Point", "second:Profile:Point"]
    assert values["step"] == 2


def _checkpoint_blobs_same(saver: Any) -> int:
    """Every stored (tag, bytes) reads equal with both serializers and re-encodes identically."""
    j, f = pair(allowed_msgpack_modules=M.GRAPH_ALLOWLIST)
    n = 0
    for tup in saver.list(None):
        for blob_owner in (tup.checkpoint, tup.metadata, tup.pending_writes):
            data = j.dumps_typed(blob_owner)
            assert f.dumps_typed(blob_owner) == data
            assert_same(f.loads_typed(data), j.loads_typed(data))
            n += 1
    return n


def test_graph_in_memory_saver_resume() -> None:
    saver = InMemorySaver(serde=FastSerializer(allowed_msgpack_modules=M.GRAPH_ALLOWLIST))
    config = {"configurable": {"thread_id": "t1"}}
    graph = M.build_graph(saver)
    graph.invoke(M.initial_state(), config)
    snap = graph.get_state(config)
    assert snap.next == ("second",)
    assert type(snap.values["profile"]) is M.Profile and type(snap.values["point"]) is M.Point
    assert snap.values["point"] == M.Point(2, 4, label="first")
    # Resume with a freshly compiled graph on the same storage.
    final = M.build_graph(saver).invoke(None, config)
    _assert_final_state(final)
    _assert_final_state(M.build_graph(saver).get_state(config).values)
    # The raw blobs are the parent's: a JsonPlusSerializer saver reads the same storage.
    parent_saver = InMemorySaver(serde=JsonPlusSerializer(allowed_msgpack_modules=M.GRAPH_ALLOWLIST))
    parent_saver.storage, parent_saver.writes, parent_saver.blobs = saver.storage, saver.writes, saver.blobs
    _assert_final_state(M.build_graph(parent_saver).get_state(config).values)
    for (tag, raw) in list(saver.blobs.values()):
        if tag == "empty":  # InMemorySaver's own marker, not a serializer tag
            continue
        j, f = pair(allowed_msgpack_modules=M.GRAPH_ALLOWLIST)
        assert_same(f.loads_typed((tag, raw)), j.loads_typed((tag, raw)))
        assert f.dumps_typed(j.loads_typed((tag, raw))) == j.dumps_typed(j.loads_typed((tag, raw)))
    assert _checkpoint_blobs_same(saver) > 0


def test_graph_in_memory_blocked_types_like_parent() -> None:
    """Without the graph types in the list, both serializers return the same raw dicts."""
    results = []
    for serde in pair(allowed_msgpack_modules=[("lg_models", "Other")]):
        saver = InMemorySaver(serde=serde)
        config = {"configurable": {"thread_id": "t"}}
        M.build_graph(saver, interrupt_before=()).invoke(M.initial_state(), config)
        results.append(M.build_graph(saver).get_state(config).values)
    assert_same(results[1], results[0])
    assert type(results[1]["profile"]) is dict


@pytest.mark.parametrize("writer_cls", [FastSerializer, JsonPlusSerializer])
def test_graph_sqlite_saver_resume_and_cross_read(tmp_path: pathlib.Path, writer_cls: Any) -> None:
    db = tmp_path / "cp.sqlite"
    config = {"configurable": {"thread_id": "t1"}}
    reader_cls = JsonPlusSerializer if writer_cls is FastSerializer else FastSerializer
    with contextlib.closing(sqlite3.connect(db, check_same_thread=False)) as conn:
        saver = SqliteSaver(conn, serde=writer_cls(allowed_msgpack_modules=M.GRAPH_ALLOWLIST))
        M.build_graph(saver).invoke(M.initial_state(), config)
    # Resume in a new connection, with the other serializer.
    with contextlib.closing(sqlite3.connect(db, check_same_thread=False)) as conn:
        saver = SqliteSaver(conn, serde=reader_cls(allowed_msgpack_modules=M.GRAPH_ALLOWLIST))
        graph = M.build_graph(saver)
        assert graph.get_state(config).next == ("second",)
        _assert_final_state(graph.invoke(None, config))
        history = list(graph.get_state_history(config))
        assert len(history) >= 4
        rows = conn.execute("SELECT type, checkpoint, metadata FROM checkpoints").fetchall()
        blobs = conn.execute("SELECT type, value FROM writes").fetchall()
    j, f = pair(allowed_msgpack_modules=M.GRAPH_ALLOWLIST)
    for tag, raw, _meta in rows:
        assert_same(f.loads_typed((tag, raw)), j.loads_typed((tag, raw)))
    for tag, raw in blobs:
        assert_same(f.loads_typed((tag, raw)), j.loads_typed((tag, raw)))
        assert f.dumps_typed(j.loads_typed((tag, raw))) == j.dumps_typed(j.loads_typed((tag, raw)))


_SQLITE_STRICT_SCRIPT = textwrap.dedent(
    """
    import json, sqlite3, sys
    from contextlib import closing
    from langgraph.checkpoint.serde import _msgpack
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
    from langgraph.checkpoint.sqlite import SqliteSaver
    from fast_serde.langgraph import FastSerializer
    import lg_models as M

    tmp = sys.argv[1]
    SERDES = {"fast": FastSerializer, "parent": JsonPlusSerializer}
    config = {"configurable": {"thread_id": "t1"}}

    def summary(values):
        return {
            "types": {k: type(v).__name__ for k, v in sorted(values.items())},
            "repr": {k: repr(v) for k, v in sorted(values.items())},
        }

    out = {"strict": _msgpack.STRICT_MSGPACK_ENABLED}
    for writer, reader in [("fast", "fast"), ("fast", "parent"), ("parent", "fast")]:
        db = f"{tmp}/{writer}-{reader}.sqlite"
        res = out[f"{writer}-{reader}"] = {}
        with closing(sqlite3.connect(db, check_same_thread=False)) as conn:
            # strict mode: compile() widens the serializer's allowlist with GraphState's types
            graph = M.build_graph(SqliteSaver(conn, serde=SERDES[writer]()))
            res["writer_serde"] = type(graph.checkpointer.serde).__name__
            graph.invoke(M.initial_state(), config)
            res["interrupted"] = summary(graph.get_state(config).values)
        with closing(sqlite3.connect(db, check_same_thread=False)) as conn:
            graph = M.build_graph(SqliteSaver(conn, serde=SERDES[reader]()))
            res["reader_serde"] = type(graph.checkpointer.serde).__name__
            res["final"] = summary(graph.invoke(None, config))
            # Savers that compile() did not widen: the custom types are blocked.
            for name, cls in SERDES.items():
                raw = SqliteSaver(conn, serde=cls()).get_tuple(config).checkpoint["channel_values"]
                res["raw_" + name] = {k: repr(v) for k, v in sorted(raw.items()) if not k.startswith("branch")}
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def strict_sqlite_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One subprocess under LANGGRAPH_STRICT_MSGPACK=true: run + resume for each writer/reader pair."""
    tmp = tmp_path_factory.mktemp("strict_sqlite")
    return _run_py(_SQLITE_STRICT_SCRIPT.replace("sys.argv[1]", repr(str(tmp))), {"LANGGRAPH_STRICT_MSGPACK": "true"}, tmp)


@pytest.mark.parametrize("combo", ["fast-fast", "fast-parent", "parent-fast"])
def test_graph_sqlite_strict_mode_subprocess(strict_sqlite_runs: dict[str, Any], combo: str) -> None:
    """Strict mode: compile() widens the allowlist with the state types; resume in a new connection
    with the other serializer. Savers that were not widened return the raw payloads, the same for
    FastSerializer and JsonPlusSerializer."""
    out = strict_sqlite_runs
    assert out["strict"] is True
    res = out[combo]
    writer, reader = combo.split("-")
    assert res["writer_serde"] == ("FastSerializer" if writer == "fast" else "JsonPlusSerializer")
    assert res["reader_serde"] == ("FastSerializer" if reader == "fast" else "JsonPlusSerializer")
    assert res["interrupted"]["types"] == {"log": "list", "point": "Point", "profile": "Profile", "step": "int"}
    assert res["interrupted"]["repr"]["point"] == repr(M.Point(2, 4, label="first"))
    assert res["final"]["types"] == {"log": "list", "point": "Point", "profile": "Profile", "step": "int"}
    assert res["final"]["repr"]["point"] == repr(M.Point(20, 4, label="second"))
    assert res["final"]["repr"]["profile"] == repr(
        M.Profile(name="ada", age=1, tags=["x", "second"], address=M.Address(city="Paris", zip="75001"))
    )
    assert res["raw_fast"] == res["raw_parent"]
    assert res["raw_fast"]["point"] == repr({"x": 20, "y": 4, "label": "second"})
    assert res["raw_fast"]["profile"].startswith("{'name': 'ada'")
