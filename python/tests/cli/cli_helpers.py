"""What the test_cli_*.py files and test_inspect_storage.py share: the stock graph (messages,
bytes, UUID, datetime, Decimal, Path, set, Enum, pydantic model, dataclass, and a subgraph with
its own checkpoint namespace) and the SQLite stores it writes, the two ways to run
``fast-serde inspect`` (in this process through ``inspect_cli.main(argv)``, and as
``python -m fast_serde inspect ...`` in a subprocess, which cannot import this module's classes,
so it reads them back from their stored fields), the stock savers' view of a store, and the
error cases with the one-line check."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import re
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Annotated, Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.graph.message import add_messages
from pydantic import BaseModel
from typing_extensions import TypedDict

from fast_serde import inspect_cli


REPO_ROOT = Path(__file__).resolve().parents[3]
PREFIX = "fast-serde inspect: error: "


# --- the graph ---------------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass
class Point:
    x: int
    y: float


class Profile(BaseModel):
    name: str
    score: float
    tags: list[str]


class State(TypedDict, total=False):
    messages: Annotated[list, add_messages]
    blob: bytes
    extra: dict


BLOB = b"\x00\x01\xfe\xff binary"
EXTRA = {
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "when": dt.datetime(2025, 3, 14, 9, 26, 53, 589000, tzinfo=dt.timezone.utc),
    "price": decimal.Decimal("19.90"),
    "path": Path("/srv/data/report.csv"),
    "tags": {"beta", "alpha", "gamma"},
    "color": Color.BLUE,
    "profile": Profile(name="ada", score=9.5, tags=["x", "y"]),
    "point": Point(3, 4.5),
}
EXPECTED_EXTRA = {
    "uuid": "12345678-1234-5678-1234-567812345678",
    "when": "2025-03-14T09:26:53.589000+00:00",
    "price": "19.90",
    "path": "/srv/data/report.csv",
    "tags": ["alpha", "beta", "gamma"],
    "color": "blue",
    "profile": {"name": "ada", "score": 9.5, "tags": ["x", "y"]},
    "point": {"x": 3, "y": 4.5},
}


def _agent(state: State) -> dict[str, Any]:
    n = len(state["messages"])
    return {
        "messages": [
            AIMessage(
                content="",
                id=f"ai-call-{n}",
                tool_calls=[{"name": "lookup", "args": {"q": "fast"}, "id": f"call-{n}"}],
            ),
            ToolMessage(content="found it", tool_call_id=f"call-{n}", id=f"tool-{n}"),
            AIMessage(content=f"answer {n}", id=f"ai-{n}"),
        ],
        "blob": BLOB,
        "extra": EXTRA,
    }


def _child(state: MessagesState) -> dict[str, Any]:
    return {"messages": [AIMessage(content="from the subgraph", id="child-1")]}


def build_graph(saver: Any) -> Any:
    sub = StateGraph(MessagesState)
    sub.add_node("inner", _child)
    sub.add_edge(START, "inner")
    builder = StateGraph(State)
    builder.add_node("agent", _agent)
    builder.add_node("child", sub.compile())
    builder.add_edge(START, "agent")
    builder.add_edge("agent", "child")
    return builder.compile(checkpointer=saver)


def run_threads(saver: Any) -> None:
    """Thread "alpha": two turns; thread "beta": one turn."""
    graph = build_graph(saver)
    alpha = {"configurable": {"thread_id": "alpha"}}
    graph.invoke({"messages": [HumanMessage(content="first question", id="h-1")]}, alpha)
    graph.invoke({"messages": [HumanMessage(content="second question", id="h-2")]}, alpha)
    beta = {"configurable": {"thread_id": "beta"}}
    graph.invoke({"messages": [HumanMessage(content="only question", id="h-b")]}, beta)


def write_sqlite(path: Path, serde: Any) -> Path:
    conn = sqlite3.connect(path, check_same_thread=False)
    try:
        run_threads(SqliteSaver(conn, serde=serde))
    finally:
        conn.close()
    return path


# --- ways to run the command ------------------------------------------------------------


def run_inproc(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = inspect_cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_cli(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fast_serde", "inspect", *argv],
        capture_output=True, text=True, timeout=timeout, check=False, cwd=REPO_ROOT,
    )


def stock_tuples(db: Path, thread: str, ns: str = "") -> list[Any]:
    """The thread's checkpoints as the stock saver lists them (newest first)."""
    conn = sqlite3.connect(db, check_same_thread=False)
    try:
        saver = SqliteSaver(conn, serde=JsonPlusSerializer())
        return list(saver.list({"configurable": {"thread_id": thread, "checkpoint_ns": ns}}))
    finally:
        conn.close()


def table_rows(out: str) -> tuple[list[str], list[list[str]]]:
    lines = out.rstrip("\n").splitlines()
    return re.split(r"\s{2,}", lines[0].strip()), [line.split() for line in lines[1:]]


# --- errors --------------------------------------------------------------------------------


def error_cases(tmp: Path, good_db: Path) -> list[tuple[list[str], str]]:
    text = tmp / "notes.txt"
    text.write_text("not a database\n" * 100)
    empty_sqlite = tmp / "empty.sqlite"
    with sqlite3.connect(empty_sqlite) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    half = tmp / "half.sqlite"
    with sqlite3.connect(half) as conn:
        conn.execute("CREATE TABLE checkpoints (thread_id TEXT)")
        conn.execute("CREATE TABLE writes (thread_id TEXT)")
    db = str(good_db)
    return [
        ([str(tmp / "missing.sqlite")], "missing.sqlite: no such file"),
        ([str(tmp)], "is a directory"),
        ([str(text)], "notes.txt: not a SQLite database"),
        ([str(empty_sqlite)], "not a LangGraph checkpoint database (no 'checkpoints' table)"),
        ([str(half)], "table 'checkpoints' has no column checkpoint"),
        ([db, "--thread", "nobody"], "unknown thread 'nobody'"),
        ([db, "--thread", "nobody", "--history"], "unknown thread 'nobody'"),
        ([db, "--thread", "alpha", "--checkpoint", "nope"], "unknown checkpoint 'nope' in thread 'alpha'"),
        ([db, "--thread", "alpha", "--ns", "elsewhere"], "unknown thread 'alpha' in namespace 'elsewhere'"),
        (["postgresql://u:s3cret@localhost:notaport/db"], "bad DSN postgresql://u:***@localhost:notaport/db: port 'notaport' is not a number"),
        (["postgresql://u:s3cret@localhost/db?bogus=1"], 'invalid URI query parameter: "bogus"'),
        (["postgres://u:s3cret@127.0.0.1:1/db?connect_timeout=5"], "cannot connect to PostgreSQL (postgres://u:***@127.0.0.1:1/db?connect_timeout=5)"),
    ]


ERROR_IDS = [
    "missing-file", "directory", "text-file", "sqlite-without-tables", "wrong-schema",
    "unknown-thread", "unknown-thread-history", "unknown-checkpoint", "unknown-namespace",
    "bad-port", "bad-dsn", "unreachable-server",
]


def assert_one_line_error(code: int, out: str, err: str, expected: str) -> None:
    assert code == 1, (out, err)
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(PREFIX), err
    assert expected in lines[0], err
    assert "s3cret" not in err
