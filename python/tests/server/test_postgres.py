"""FastSerializer behind LangGraph's real checkpointers, PostgreSQL first.

A throwaway PostgreSQL server (``pg_server.py``) is started once for the session, on a free port
of 127.0.0.1, and stopped at the end; every test works in a database of its own.

* Conformance: ``langgraph-checkpoint-conformance`` against InMemorySaver, AsyncSqliteSaver and
  AsyncPostgresSaver, each with ``serde=FastSerializer()``.
* Sync savers (SqliteSaver, PostgresSaver, PostgresSaver in pipeline mode) under a real graph.
* Scale-out: 4 spawned processes x 3 threads run scripted agent graphs into one database through
  ``PostgresSaver(pool, serde=FastSerializer())`` in strict msgpack mode; every thread's state and
  full history is then read with FastSerializer and with JsonPlusSerializer and compared with a
  reference run (InMemorySaver + JsonPlusSerializer), and every stored blob is checked to be the
  bytes JsonPlusSerializer writes.
* Migration: threads written alternately by both serializers (both directions) read the same.
* Async: 20 concurrent graph runs on AsyncPostgresSaver under ``asyncio.gather``.

The agent is scripted (no LLM, no network): a human asks to add two numbers, the ``agent`` node
answers with an AIMessage carrying a ``tool_calls`` entry, the ``tools`` node answers with a
ToolMessage, and the agent concludes. Every message has a deterministic id, so runs compare equal.
"""

from __future__ import annotations

import asyncio
import enum
import operator
import os
import sqlite3
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import closing, contextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import multiprocessing

import pytest
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde import _msgpack as lg_msgpack
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command, Send, interrupt
from pydantic import BaseModel
from typing_extensions import TypedDict

from fast_serde.langgraph import FastSerializer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from pg_server import PgServer, pg_server_fixture  # noqa: E402

import psycopg  # noqa: E402
from psycopg.rows import dict_row  # noqa: E402
from psycopg_pool import AsyncConnectionPool, ConnectionPool  # noqa: E402

from langgraph.checkpoint.postgres import PostgresSaver  # noqa: E402
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver  # noqa: E402

pg_server = pytest.fixture(scope="session", name="pg_server")(pg_server_fixture)

CONN_KWARGS = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}

N_PROCESSES = 4
THREADS_PER_PROCESS = 3
GRAPH_THREADS_PER_WORKER_THREAD = 3  # LangGraph threads driven by each OS thread
TURNS = 3
ASYNC_THREADS = 20
ASYNC_TURNS = 2


@pytest.fixture
def pg_dsn(pg_server: PgServer) -> str:
    """A fresh database, with LangGraph's checkpoint tables, for one test."""
    dsn = pg_server.create_database()
    with psycopg.Connection.connect(dsn, **CONN_KWARGS) as conn:
        PostgresSaver(conn).setup()
    return dsn


# --------------------------------------------------------------------------------------------
# The scripted agent graph
# --------------------------------------------------------------------------------------------


class Priority(enum.Enum):
    LOW = "low"
    HIGH = "high"


class ToolAudit(BaseModel):
    """A pydantic model in the state: in strict mode the graph allowlists it from the schema."""

    call_id: str
    tool: str
    args: dict[str, int]
    result: int
    priority: Priority
    at: datetime


def _merge_dicts(left: dict, right: dict) -> dict:
    return {**left, **right}


class AgentState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    turn: int
    audit: Annotated[list[ToolAudit], lambda a, b: a + b]
    facts: Annotated[dict[str, Any], _merge_dicts]


_T0 = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


def _operands(thread_id: str, turn: int) -> tuple[int, int]:
    h = uuid.uuid5(uuid.NAMESPACE_URL, f"{thread_id}/{turn}").int
    return h % 1000, (h >> 16) % 1000 - 500


def _thread_id(config) -> str:
    return config["configurable"]["thread_id"]


def agent(state: AgentState, config) -> dict:
    tid, turn = _thread_id(config), state["turn"]
    last = state["messages"][-1]
    if isinstance(last, HumanMessage):
        a, b = _operands(tid, turn)
        call = {"name": "add", "args": {"a": a, "b": b}, "id": f"call-{tid}-{turn}", "type": "tool_call"}
        return {
            "messages": [
                AIMessage(
                    content="",
                    id=f"{tid}-{turn}-ai-call",
                    tool_calls=[call],
                    usage_metadata={"input_tokens": 40 + turn, "output_tokens": 12, "total_tokens": 52 + turn},
                    response_metadata={"model_name": "scripted-1", "finish_reason": "tool_calls"},
                )
            ]
        }
    assert isinstance(last, ToolMessage), f"unexpected last message {last!r}"
    return {
        "messages": [
            AIMessage(
                content=f"The sum is {last.content}.",
                id=f"{tid}-{turn}-ai-answer",
                response_metadata={"model_name": "scripted-1", "finish_reason": "stop"},
            )
        ],
        "facts": {f"answer-{turn}": int(last.content), "last_turn": turn},
    }


def tools(state: AgentState, config) -> dict:
    tid, turn = _thread_id(config), state["turn"]
    call = state["messages"][-1].tool_calls[0]
    result = call["args"]["a"] + call["args"]["b"]
    at = _T0 + timedelta(seconds=turn)
    return {
        "messages": [
            ToolMessage(
                content=str(result),
                tool_call_id=call["id"],
                name=call["name"],
                id=f"{tid}-{turn}-tool",
                artifact={"at": at, "request": uuid.uuid5(uuid.NAMESPACE_DNS, call["id"])},
            )
        ],
        "audit": [
            ToolAudit(
                call_id=call["id"], tool=call["name"], args=call["args"], result=result,
                priority=Priority.HIGH if result % 2 else Priority.LOW, at=at,
            )
        ],
        "facts": {
            f"seen-{turn}": {Decimal(result) / 4, frozenset({turn})} if turn % 2 else (turn, b"\x00\xff"),
        },
    }


def route(state: AgentState) -> str:
    last = state["messages"][-1]
    return "tools" if isinstance(last, AIMessage) and last.tool_calls else END


def build_graph(checkpointer):
    builder = StateGraph(AgentState)
    builder.add_node("agent", agent)
    builder.add_node("tools", tools)
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", route, ["tools", END])
    builder.add_edge("tools", "agent")
    return builder.compile(checkpointer=checkpointer)


def turn_input(thread_id: str, turn: int) -> dict:
    a, b = _operands(thread_id, turn)
    return {"messages": [HumanMessage(content=f"add {a} and {b}", id=f"{thread_id}-{turn}-human")], "turn": turn}


def cfg(thread_id: str) -> dict:
    return {"configurable": {"thread_id": thread_id}}


def run_turns(graph, thread_id: str, turns: range) -> None:
    for turn in turns:
        out = graph.invoke(turn_input(thread_id, turn), cfg(thread_id))
        assert out["messages"][-1].id == f"{thread_id}-{turn}-ai-answer", out["messages"][-1]


def expected_message_ids(thread_id: str, turns: int) -> list[str]:
    return [f"{thread_id}-{t}-{kind}" for t in range(turns) for kind in ("human", "ai-call", "tool", "ai-answer")]


def snapshot_signature(snap) -> tuple:
    """What a StateSnapshot must keep across serializers and databases (ids and times excluded)."""
    return (
        snap.values,
        snap.next,
        snap.metadata.get("source"),
        snap.metadata.get("step"),
        tuple((t.name, t.error, t.interrupts, t.result) for t in snap.tasks),
    )


def history_signature(graph, thread_id: str) -> list[tuple]:
    return [snapshot_signature(s) for s in graph.get_state_history(cfg(thread_id))]


async def ahistory_signature(graph, thread_id: str) -> list[tuple]:
    return [snapshot_signature(s) async for s in graph.aget_state_history(cfg(thread_id))]


_reference_cache: dict[tuple[str, int], list[tuple]] = {}


def reference_history(thread_id: str, turns: int) -> list[tuple]:
    """The history of the same turns on InMemorySaver with LangGraph's own serializer."""
    key = (thread_id, turns)
    if key not in _reference_cache:
        graph = build_graph(InMemorySaver(serde=JsonPlusSerializer()))
        run_turns(graph, thread_id, range(turns))
        _reference_cache[key] = history_signature(graph, thread_id)
    return _reference_cache[key]


def check_thread(graph, thread_id: str, turns: int, label: str) -> list[tuple]:
    state = graph.get_state(cfg(thread_id))
    ids = [m.id for m in state.values["messages"]]
    assert ids == expected_message_ids(thread_id, turns), f"{label}: {thread_id} messages {ids}"
    assert len(state.values["audit"]) == turns, f"{label}: {thread_id}"
    history = history_signature(graph, thread_id)
    reference = reference_history(thread_id, turns)
    assert len(history) == len(reference), f"{label}: {thread_id} has {len(history)} checkpoints, want {len(reference)}"
    for i, (got, want) in enumerate(zip(history, reference)):
        assert got == want, f"{label}: {thread_id} checkpoint {i} (newest first) differs"
    return history


SERIALIZERS: dict[str, Callable[[], Any]] = {"fast": FastSerializer, "jsonplus": JsonPlusSerializer}


# --------------------------------------------------------------------------------------------
# Byte-level checks on what is stored in PostgreSQL
# --------------------------------------------------------------------------------------------


def stored_blobs(dsn: str) -> list[tuple[str, str, bytes]]:
    """(where, type tag, bytes) of every serde-written value in the database."""
    with psycopg.connect(dsn) as conn:
        rows = [("blob:" + r[0], r[1], bytes(r[2])) for r in conn.execute(
            "SELECT channel, type, blob FROM checkpoint_blobs WHERE blob IS NOT NULL"
        )]
        rows += [("write:" + r[0], r[1], bytes(r[2])) for r in conn.execute(
            "SELECT channel, type, blob FROM checkpoint_writes"
        )]
    return rows


def stored_sqlite_blobs(path: str) -> list[tuple[str, str, bytes]]:
    """SqliteSaver's serde-written values: whole checkpoints and pending writes."""
    with closing(sqlite3.connect(path)) as conn:
        rows = [("checkpoint:" + r[0], r[1], bytes(r[2])) for r in conn.execute(
            "SELECT checkpoint_id, type, checkpoint FROM checkpoints")]
        rows += [("write:" + r[0], r[1], bytes(r[2])) for r in conn.execute(
            "SELECT channel, type, value FROM writes")]
    return rows


# A set (or frozenset) as JsonPlusSerializer writes it: ext 0 of ("builtins", "set", [...]).
_SET_PAYLOADS = (b"\x93\xa8builtins\xa3set", b"\x93\xa8builtins\xa9frozenset")


def _holds_a_set(data: bytes) -> bool:
    """Whether a blob holds a set. A set read back is rebuilt by inserting its elements in the
    stored order, and iterates in an order that depends on str hashes (PYTHONHASHSEED) and that
    insertion history: written again it may come out in another order. So its bytes are not a
    function of the value; every other blob's are."""
    return any(p in data for p in _SET_PAYLOADS)


def assert_blobs_are_jsonplus_bytes(dsn: str, rows: list[tuple[str, str, bytes]] | None = None) -> int:
    """Every stored (type, bytes) is what JsonPlusSerializer writes for the value it decodes to
    (for a blob holding a set, whose element order is not a function of the value: the value
    that write reads back to), and FastSerializer writes the very same bytes for that value."""
    jp, fast = JsonPlusSerializer(), FastSerializer()
    rows = stored_blobs(dsn) if rows is None else rows
    assert rows, "no blobs stored"
    kinds = set()
    for where, tag, data in rows:
        value = jp.loads_typed((tag, data))
        kinds.add(tag)
        again = jp.dumps_typed(value)
        if _holds_a_set(data):
            assert jp.loads_typed(again) == value, f"{where}: JsonPlusSerializer does not read it back"
        else:
            assert again == (tag, data), f"{where}: not JsonPlusSerializer's bytes"
        assert fast.dumps_typed(value) == again, f"{where}: FastSerializer re-encodes differently"
        assert fast.loads_typed((tag, data)) == value, f"{where}: FastSerializer reads differently"
    assert "msgpack" in kinds
    return len(rows)


def assert_tuples_equal_across_serializers(dsn: str, thread_ids: list[str]) -> None:
    """Raw CheckpointTuples read by PostgresSaver with each serializer are equal."""
    with psycopg.Connection.connect(dsn, **CONN_KWARGS) as conn:
        savers = {name: PostgresSaver(conn, serde=make()) for name, make in SERIALIZERS.items()}
        for tid in thread_ids:
            fast = list(savers["fast"].list(cfg(tid)))
            jp = list(savers["jsonplus"].list(cfg(tid)))
            assert fast, tid
            assert fast == jp, f"{tid}: CheckpointTuples differ between FastSerializer and JsonPlusSerializer"


# --------------------------------------------------------------------------------------------
# Conformance suite
# --------------------------------------------------------------------------------------------


def _run_conformance(registered) -> Any:
    from langgraph.checkpoint.conformance import validate
    from langgraph.checkpoint.conformance.report import ProgressCallbacks

    failures: list[str] = []

    def on_result(cap: str, name: str, passed: bool, error: str | None) -> None:
        if not passed:
            failures.append(f"{cap}/{name}: {error}")

    report = asyncio.run(validate(registered, progress=ProgressCallbacks(on_test_result=on_result)))
    report.print_report()
    return report, failures


def _assert_conformant(report, failures: list[str], name: str) -> None:
    from langgraph.checkpoint.conformance.capabilities import BASE_CAPABILITIES

    assert not failures, f"{name}: {len(failures)} failed:\n" + "\n".join(f[:1500] for f in failures[:5])
    for cap in BASE_CAPABILITIES:
        result = report.results[cap.value]
        assert result.detected and result.passed is True and result.tests_passed > 0, (name, cap, result)
    assert report.passed_all_base(), name
    assert report.passed_all(), name  # every detected extended capability passes too


@pytest.mark.parametrize("saver_name", ["InMemorySaver", "AsyncSqliteSaver", "AsyncPostgresSaver"])
def test_conformance_with_fast_serializer(saver_name, request):
    from langgraph.checkpoint.conformance import checkpointer_test

    used: list[Any] = []

    if saver_name == "InMemorySaver":

        async def factory():
            saver = InMemorySaver(serde=FastSerializer())
            used.append(saver)
            yield saver

    elif saver_name == "AsyncSqliteSaver":
        import aiosqlite
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        async def factory():
            async with aiosqlite.connect(":memory:") as conn:
                saver = AsyncSqliteSaver(conn, serde=FastSerializer())
                await saver.setup()
                used.append(saver)
                yield saver

    else:
        dsn = request.getfixturevalue("pg_dsn")

        async def factory():
            async with await psycopg.AsyncConnection.connect(dsn, **CONN_KWARGS) as conn:
                saver = AsyncPostgresSaver(conn, serde=FastSerializer())
                await saver.setup()
                used.append(saver)
                yield saver

    registered = checkpointer_test(name=f"{saver_name}+FastSerializer")(factory)
    report, failures = _run_conformance(registered)
    assert used and all(type(s.serde) is FastSerializer for s in used), "the suite did not use FastSerializer"
    _assert_conformant(report, failures, saver_name)


# --------------------------------------------------------------------------------------------
# Sync savers through a real graph
# --------------------------------------------------------------------------------------------


@contextmanager
def sync_saver(kind: str, target: str, serde) -> Iterator[Any]:
    if kind == "sqlite":
        from langgraph.checkpoint.sqlite import SqliteSaver

        with closing(sqlite3.connect(target, check_same_thread=False)) as conn:
            saver = SqliteSaver(conn, serde=serde)
            saver.setup()
            yield saver
    else:
        with psycopg.Connection.connect(target, **CONN_KWARGS) as conn:
            if kind == "postgres-pipeline":
                with conn.pipeline() as pipe:
                    yield PostgresSaver(conn, pipe=pipe, serde=serde)
            else:
                yield PostgresSaver(conn, serde=serde)


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "postgres-pipeline"])
def test_sync_saver_graph(kind, tmp_path, request):
    target = str(tmp_path / "graph.sqlite") if kind == "sqlite" else request.getfixturevalue("pg_dsn")
    thread_ids = [f"sync-{kind}-{i}" for i in range(2)]
    with sync_saver(kind, target, FastSerializer()) as saver:
        graph = build_graph(saver)
        for tid in thread_ids:
            run_turns(graph, tid, range(TURNS))
    histories = {}
    for name, make in SERIALIZERS.items():  # fresh connections: nothing cached in the saver
        with sync_saver(kind, target, make()) as saver:
            graph = build_graph(saver)
            histories[name] = [check_thread(graph, tid, TURNS, f"{kind}/{name}") for tid in thread_ids]
    assert histories["fast"] == histories["jsonplus"]
    if kind == "sqlite":
        assert_blobs_are_jsonplus_bytes(target, stored_sqlite_blobs(target))
    else:
        assert_blobs_are_jsonplus_bytes(target)
        assert_tuples_equal_across_serializers(target, thread_ids)


# --------------------------------------------------------------------------------------------
# Scale-out: processes x threads into one database
# --------------------------------------------------------------------------------------------


def worker_process(dsn: str, proc: int, n_threads: int, per_thread: int, turns: int, started: Any) -> dict:
    """Runs in a spawned process: ``n_threads`` OS threads, each driving ``per_thread`` LangGraph
    threads turn by turn (interleaved), all through one PostgresSaver(pool, FastSerializer()).
    ``started``: a barrier of every worker process, so that no process takes two of the tasks."""
    started.wait(timeout=240)
    barrier = threading.Barrier(n_threads)
    with ConnectionPool(dsn, min_size=n_threads, max_size=n_threads, kwargs=CONN_KWARGS, open=True) as pool:
        saver = PostgresSaver(pool, serde=FastSerializer())
        graph = build_graph(saver)

        def drive(t: int) -> list[str]:
            tids = [f"p{proc}-t{t}-g{g}" for g in range(per_thread)]
            barrier.wait(timeout=60)
            for turn in range(turns):
                for tid in tids:
                    run_turns(graph, tid, range(turn, turn + 1))
            return tids

        with ThreadPoolExecutor(n_threads) as ex:
            thread_ids = [tid for tids in ex.map(drive, range(n_threads)) for tid in tids]
        strict = lg_msgpack.STRICT_MSGPACK_ENABLED
        effective = graph._apply_checkpointer_allowlist(saver).serde
    return {
        "pid": os.getpid(),
        "thread_ids": thread_ids,
        "strict": strict,
        "serde": type(effective).__name__,
        "allowlisted": sorted(map(list, effective._allowed_msgpack_modules or ())) if strict else None,
    }


def test_concurrent_workers_share_one_database(pg_dsn, monkeypatch):
    # Production settings in the workers: strict msgpack (the graph allowlists its schema types).
    monkeypatch.setenv("LANGGRAPH_STRICT_MSGPACK", "true")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ProcessPoolExecutor(N_PROCESSES, mp_context=ctx) as ex:
        started = manager.Barrier(N_PROCESSES)
        futures = [
            ex.submit(worker_process, pg_dsn, p, THREADS_PER_PROCESS, GRAPH_THREADS_PER_WORKER_THREAD, TURNS, started)
            for p in range(N_PROCESSES)
        ]
        results = [f.result(timeout=300) for f in futures]
    monkeypatch.delenv("LANGGRAPH_STRICT_MSGPACK")

    assert len({r["pid"] for r in results}) == N_PROCESSES
    for r in results:
        assert r["strict"] is True, r
        assert r["serde"] == "FastSerializer", r
        assert [__name__, "ToolAudit"] in r["allowlisted"], r
    thread_ids = [tid for r in results for tid in r["thread_ids"]]
    assert len(thread_ids) == len(set(thread_ids)) == N_PROCESSES * THREADS_PER_PROCESS * GRAPH_THREADS_PER_WORKER_THREAD

    with psycopg.connect(pg_dsn) as conn:
        n_threads_in_db = conn.execute("SELECT count(DISTINCT thread_id) FROM checkpoints").fetchone()[0]
    assert n_threads_in_db == len(thread_ids)

    histories = {}
    with ConnectionPool(pg_dsn, min_size=1, max_size=2, kwargs=CONN_KWARGS, open=True) as pool:
        readers = {
            "fast": FastSerializer(),
            "jsonplus": JsonPlusSerializer(),
            # strict readers, allowlisting the schema's own types explicitly
            "fast-strict": FastSerializer(allowed_msgpack_modules=[ToolAudit, Priority]),
            "jsonplus-strict": JsonPlusSerializer(allowed_msgpack_modules=[ToolAudit, Priority]),
        }
        for name, serde in readers.items():
            graph = build_graph(PostgresSaver(pool, serde=serde))
            histories[name] = {tid: check_thread(graph, tid, TURNS, name) for tid in thread_ids}
    assert histories["fast"] == histories["jsonplus"] == histories["fast-strict"] == histories["jsonplus-strict"]
    assert_tuples_equal_across_serializers(pg_dsn, thread_ids)
    assert assert_blobs_are_jsonplus_bytes(pg_dsn) >= len(thread_ids) * TURNS * 4


# --------------------------------------------------------------------------------------------
# Migration: one thread written alternately by both serializers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("first", ["fast", "jsonplus"])
def test_alternating_serializers_migrate_both_ways(pg_dsn, first):
    second = "jsonplus" if first == "fast" else "fast"
    order = [first, second] * 2
    tid = f"migrate-{first}-first"
    with psycopg.Connection.connect(pg_dsn, **CONN_KWARGS) as conn:
        for turn, name in enumerate(order):
            graph = build_graph(PostgresSaver(conn, serde=SERIALIZERS[name]()))
            run_turns(graph, tid, range(turn, turn + 1))
        histories = {name: check_thread(build_graph(PostgresSaver(conn, serde=make())), tid, len(order), name)
                     for name, make in SERIALIZERS.items()}
    assert histories["fast"] == histories["jsonplus"]
    assert_tuples_equal_across_serializers(pg_dsn, [tid])
    assert_blobs_are_jsonplus_bytes(pg_dsn)


def test_mixed_fleet_writes_identical_rows(pg_server):
    """The same turns run by a FastSerializer fleet and by a JsonPlusSerializer fleet (two
    databases) store identical blobs and writes, row for row."""
    rows: dict[str, list] = {}
    for name, make in SERIALIZERS.items():
        dsn = pg_server.create_database()
        with psycopg.Connection.connect(dsn, **CONN_KWARGS) as conn:
            saver = PostgresSaver(conn, serde=make())
            saver.setup()
            run_turns(build_graph(saver), "fleet", range(TURNS))
            blobs = conn.execute(
                "SELECT channel, type, blob FROM checkpoint_blobs ORDER BY channel, version"
            ).fetchall()
            writes = conn.execute(
                "SELECT w.channel, w.type, w.blob FROM checkpoint_writes w"
                " JOIN checkpoints c USING (thread_id, checkpoint_ns, checkpoint_id)"
                " ORDER BY (c.metadata->>'step')::int, w.task_path, w.idx"
            ).fetchall()
        rows[name] = [(r["channel"], r["type"], None if r["blob"] is None else bytes(r["blob"]))
                      for r in blobs + writes]
    assert len(rows["fast"]) > 10
    for i, (fast, jp) in enumerate(zip(rows["fast"], rows["jsonplus"])):
        assert fast == jp, f"row {i}: {fast[:2]} differs"
    assert len(rows["fast"]) == len(rows["jsonplus"])


class FanState(TypedDict, total=False):
    items: list[int]
    results: Annotated[list[dict], operator.add]
    decision: dict


def fan_out(state: FanState) -> list[Send]:
    return [Send("work", {"item": i, "at": _T0 + timedelta(minutes=i)}) for i in state["items"]]


def work(arg: dict) -> dict:
    return {"results": [{"item": arg["item"], "square": arg["item"] ** 2, "at": arg["at"], "tags": {"sq", arg["item"]}}]}


def review(state: FanState) -> dict:
    answer = interrupt({"question": "approve?", "n": len(state["results"]), "deadline": _T0 + timedelta(days=1)})
    return {"decision": answer}


def build_fan_graph(checkpointer):
    builder = StateGraph(FanState)
    builder.add_node("plan", lambda state: {})
    builder.add_node("work", work)
    builder.add_node("review", review)
    builder.add_edge(START, "plan")
    builder.add_conditional_edges("plan", fan_out, ["work"])
    builder.add_edge("work", "review")
    builder.add_edge("review", END)
    return builder.compile(checkpointer=checkpointer)


@pytest.mark.parametrize("first", ["fast", "jsonplus"])
def test_interrupt_paused_across_the_switch(pg_dsn, first):
    """A thread paused on interrupt() (with Send fan-out) by one serializer is resumed by the
    other: what a rolling upgrade does to threads waiting for a human."""
    second = "jsonplus" if first == "fast" else "fast"
    tid = f"paused-{first}"
    resume = {"approved": True, "by": uuid.UUID(int=7), "at": _T0}
    with psycopg.Connection.connect(pg_dsn, **CONN_KWARGS) as conn:
        graphs = {name: build_fan_graph(PostgresSaver(conn, serde=make())) for name, make in SERIALIZERS.items()}
        out = graphs[first].invoke({"items": [3, 1, 2]}, cfg(tid))
        assert [i.value for i in out["__interrupt__"]] == [
            {"question": "approve?", "n": 3, "deadline": _T0 + timedelta(days=1)}
        ]
        paused = {name: g.get_state(cfg(tid)) for name, g in graphs.items()}
        assert paused["fast"].next == paused["jsonplus"].next == ("review",)
        assert paused["fast"].values == paused["jsonplus"].values
        assert paused["fast"].interrupts == paused["jsonplus"].interrupts and paused["fast"].interrupts
        done = graphs[second].invoke(Command(resume=resume), cfg(tid))
        assert done["decision"] == resume
        assert sorted(r["item"] for r in done["results"]) == [1, 2, 3]
        assert all(r["tags"] == {"sq", r["item"]} for r in done["results"])
        final = {name: g.get_state(cfg(tid)) for name, g in graphs.items()}
        assert final["fast"].values == final["jsonplus"].values == done
        histories = {name: [snapshot_signature(s) for s in g.get_state_history(cfg(tid))] for name, g in graphs.items()}
        assert histories["fast"] == histories["jsonplus"]
    assert_tuples_equal_across_serializers(pg_dsn, [tid])
    assert_blobs_are_jsonplus_bytes(pg_dsn)


# --------------------------------------------------------------------------------------------
# Async: many concurrent runs on AsyncPostgresSaver
# --------------------------------------------------------------------------------------------


async def _arun_thread(graph, tid: str, turns: int) -> None:
    for turn in range(turns):
        out = await graph.ainvoke(turn_input(tid, turn), cfg(tid))
        assert out["messages"][-1].id == f"{tid}-{turn}-ai-answer"


async def _async_scenario(dsn: str, thread_ids: list[str]) -> dict[str, dict[str, list]]:
    async with AsyncConnectionPool(dsn, min_size=4, max_size=10, kwargs=CONN_KWARGS, open=False) as pool:
        writer = build_graph(AsyncPostgresSaver(pool, serde=FastSerializer()))
        await asyncio.gather(*(_arun_thread(writer, tid, ASYNC_TURNS) for tid in thread_ids))
        histories: dict[str, dict[str, list]] = {}
        for name, make in SERIALIZERS.items():
            reader = build_graph(AsyncPostgresSaver(pool, serde=make()))
            sigs = await asyncio.gather(*(ahistory_signature(reader, tid) for tid in thread_ids))
            histories[name] = dict(zip(thread_ids, sigs))
            for tid in thread_ids:
                state = await reader.aget_state(cfg(tid))
                assert [m.id for m in state.values["messages"]] == expected_message_ids(tid, ASYNC_TURNS), (name, tid)
    return histories


def test_async_postgres_gather(pg_dsn):
    thread_ids = [f"async-{i}" for i in range(ASYNC_THREADS)]
    histories = asyncio.run(_async_scenario(pg_dsn, thread_ids))
    for tid in thread_ids:
        reference = reference_history(tid, ASYNC_TURNS)
        assert histories["fast"][tid] == reference, tid
        assert histories["jsonplus"][tid] == reference, tid
    assert_tuples_equal_across_serializers(pg_dsn, thread_ids)
    assert_blobs_are_jsonplus_bytes(pg_dsn)


# --------------------------------------------------------------------------------------------
# The server fixture itself
# --------------------------------------------------------------------------------------------


def test_throwaway_server_is_private(pg_server):
    """Our cluster listens on 127.0.0.1 only, on the port we chose, and wants the password."""
    if pg_server.datadir is None:
        pytest.skip("using the server of FAST_SERDE_PG_DSN, not a throwaway one")
    with psycopg.connect(pg_server.dsn) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
        assert int(conn.execute("SHOW port").fetchone()[0]) == pg_server.port
        sockdir = conn.execute("SHOW unix_socket_directories").fetchone()[0]
    assert Path(sockdir).resolve().is_relative_to(pg_server.datadir.resolve())
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"host=127.0.0.1 port={pg_server.port} user=postgres password=wrong dbname=postgres",
                        connect_timeout=5)
