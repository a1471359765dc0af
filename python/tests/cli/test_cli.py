"""``fast-serde inspect`` (fast_serde.inspect_cli) on real checkpoint databases.

The databases are written by stock LangGraph: a small ``StateGraph`` (messages, bytes, UUID,
datetime, Decimal, Path, set, Enum, pydantic model, dataclass, and a subgraph with its own
checkpoint namespace) compiled with ``SqliteSaver(serde=JsonPlusSerializer())``, the same with
``FastSerializer()``, and with ``PostgresSaver`` on a throwaway server (pg_server.py).

The command runs two ways, both through its one entry point ``inspect_cli.main(argv)``: in this
process, and as ``python -m fast_serde inspect ...`` in a subprocess (which cannot import
this module's classes, so it reads them back from their stored fields: the JSON must not change).
Expected values come from the stock savers' own API (``list``/``get_tuple``) and raw SQL, never
from inspect_cli.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import datetime as dt
import decimal
import enum
import hashlib
import ipaddress
import json
import math
import re
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Annotated, Any, NamedTuple
from zoneinfo import ZoneInfo

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.graph.message import add_messages
from pydantic import BaseModel
from typing_extensions import TypedDict

from fast_serde import inspect_cli
from fast_serde.inspect_cli import jsonable
from fast_serde.langgraph import FastSerializer

from pg_server import PgServer, pg_server_fixture  # noqa: E402

pg_server = pytest.fixture(scope="module", name="pg_server")(pg_server_fixture)

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


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- thread listing ----------------------------------------------------------------------


def _namespaces(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return sorted(conn.execute("SELECT DISTINCT thread_id, checkpoint_ns FROM checkpoints"))


def test_lists_threads_with_counts_and_latest_checkpoint(db, capsys):
    code, out, err = run_inproc(capsys, str(db), "--ns", "")
    assert code == 0, err
    header, rows = table_rows(out)
    assert header == [
        "thread", "namespace", "checkpoints", "latest checkpoint", "step", "last checkpoint (UTC)",
    ]
    assert [row[0] for row in rows] == ["beta", "alpha"]  # most recently active first
    for thread, ns, count, latest, step, when in rows:
        assert ns == "(root)"
        stock = stock_tuples(db, thread)
        assert int(count) == len(stock)
        assert latest == stock[0].config["configurable"]["checkpoint_id"]
        assert int(step) == stock[0].metadata["step"]
        # Read from the checkpoint id (UUID v6), made within moments of the checkpoint's ts.
        made = dt.datetime.fromisoformat(stock[0].checkpoint["ts"])
        assert abs((dt.datetime.fromisoformat(when) - made).total_seconds()) < 1


def test_listing_shows_every_namespace_and_json(db, capsys):
    code, out, err = run_inproc(capsys, str(db))
    assert code == 0, err
    _, rows = table_rows(out)
    expected = _namespaces(db)
    # Each run of the subgraph has its namespace: alpha ran twice, beta once.
    assert [t for t, ns in expected if ns] == ["alpha", "alpha", "beta"]
    assert sorted((r[0], "" if r[1] == "(root)" else r[1]) for r in rows) == expected
    code, out, err = run_inproc(capsys, str(db), "--json")
    assert code == 0, err
    listing = json.loads(out)
    assert sorted((r["thread_id"], r["checkpoint_ns"]) for r in listing) == expected
    assert [r["latest_checkpoint_id"] for r in listing] == [r[3] for r in rows]
    for r in listing:
        stock = stock_tuples(db, r["thread_id"], r["checkpoint_ns"])
        assert r["checkpoints"] == len(stock)
        assert r["latest_step"] == stock[0].metadata["step"]
        assert r["last_checkpoint_at"].endswith("+00:00")


def test_lists_threads_of_a_subgraph_namespace(db, capsys):
    with sqlite3.connect(db) as conn:
        namespaces = [
            ns for (ns,) in conn.execute(
                "SELECT DISTINCT checkpoint_ns FROM checkpoints WHERE thread_id = 'beta' "
                "AND checkpoint_ns != ''"
            )
        ]
    assert len(namespaces) == 1 and namespaces[0].startswith("child:")
    code, out, err = run_inproc(capsys, str(db), "--ns", namespaces[0])
    assert code == 0, err
    _, rows = table_rows(out)
    assert [row[:2] for row in rows] == [["beta", namespaces[0]]]
    assert int(rows[0][2]) == len(stock_tuples(db, "beta", namespaces[0]))

    code, out, err = run_inproc(capsys, str(db), "--thread", "beta", "--ns", namespaces[0])
    assert code == 0, err
    doc = json.loads(out)
    assert doc["checkpoint_ns"] == namespaces[0]
    assert [m["content"] for m in doc["channel_values"]["messages"]] == [
        "only question", "", "found it", "answer 1", "from the subgraph",
    ]


def test_no_threads_in_an_unknown_namespace(db, capsys):
    code, out, err = run_inproc(capsys, str(db), "--ns", "nowhere")
    assert (code, out, err) == (0, "no threads in namespace 'nowhere'\n", "")


# --- channel values ------------------------------------------------------------------------


def test_prints_latest_checkpoint_as_json(db, capsys):
    code, out, err = run_inproc(capsys, str(db), "--thread", "alpha")
    assert code == 0, err
    doc = json.loads(out)
    stock = stock_tuples(db, "alpha")
    latest = stock[0]
    assert doc["thread_id"] == "alpha" and doc["checkpoint_ns"] == ""
    assert doc["checkpoint_id"] == latest.config["configurable"]["checkpoint_id"]
    assert doc["parent_checkpoint_id"] == latest.parent_config["configurable"]["checkpoint_id"]
    assert doc["ts"] == latest.checkpoint["ts"]
    assert doc["step"] == latest.metadata["step"] and doc["source"] == latest.metadata["source"]
    assert doc["pending_writes"] == []

    values = doc["channel_values"]
    stock_messages = latest.checkpoint["channel_values"]["messages"]
    assert [(m["type"], m["content"], m["id"]) for m in values["messages"]] == [
        (m.type, m.content, m.id) for m in stock_messages
    ]
    assert [m["type"] for m in values["messages"]] == [
        "human", "ai", "tool", "ai", "ai", "human", "ai", "tool", "ai",
    ]
    call = values["messages"][1]
    assert call["tool_calls"] == [
        {"name": "lookup", "args": {"q": "fast"}, "id": "call-1", "type": "tool_call"}
    ]
    assert values["messages"][2]["tool_call_id"] == "call-1"
    assert base64.b64decode(values["blob"], validate=True) == BLOB
    assert values["extra"] == EXPECTED_EXTRA


def test_both_serializers_print_the_same_values(dbs, capsys):
    docs = {}
    for name, path in dbs.items():
        code, out, err = run_inproc(capsys, str(path), "--thread", "alpha")
        assert code == 0, err
        docs[name] = json.loads(out)
    for key in ("checkpoint_id", "parent_checkpoint_id", "ts"):
        for doc in docs.values():
            doc.pop(key)
    assert docs["jsonplus"] == docs["fast"]


def test_checkpoint_option_picks_an_older_checkpoint(db, capsys):
    stock = stock_tuples(db, "alpha")
    first_turn = next(t for t in reversed(stock) if t.metadata["step"] == 1)
    cid = first_turn.config["configurable"]["checkpoint_id"]
    code, out, err = run_inproc(capsys, str(db), "--thread", "alpha", "--checkpoint", cid)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["checkpoint_id"] == cid and doc["step"] == 1
    assert [m["id"] for m in doc["channel_values"]["messages"]] == [
        m.id for m in first_turn.checkpoint["channel_values"]["messages"]
    ]
    assert len(doc["channel_values"]["messages"]) == 4  # before the subgraph's answer
    # Pending writes of that checkpoint (the subgraph's task output) are shown with values.
    assert len(doc["pending_writes"]) == len(first_turn.pending_writes) > 0
    assert {w["channel"] for w in doc["pending_writes"]} == {
        channel for _, channel, _ in first_turn.pending_writes
    }


# --- history -------------------------------------------------------------------------------


def test_history_lists_every_checkpoint_newest_first(db, capsys):
    code, out, err = run_inproc(capsys, str(db), "--thread", "alpha", "--history")
    assert code == 0, err
    header, rows = table_rows(out)
    assert header == ["checkpoint", "step", "source", "bytes", "writes"]
    stock = stock_tuples(db, "alpha")
    assert len(rows) == len(stock) >= 6
    with sqlite3.connect(db) as conn:
        sizes = dict(
            conn.execute(
                "SELECT checkpoint_id, checkpoint FROM checkpoints "
                "WHERE thread_id = 'alpha' AND checkpoint_ns = ''"
            ).fetchall()
        )
    for row, tup in zip(rows, stock):
        cid, step, source, nbytes, writes = row
        assert cid == tup.config["configurable"]["checkpoint_id"]
        assert int(step) == tup.metadata["step"]
        assert source == tup.metadata["source"]
        assert int(nbytes) == len(sizes[cid]) > 0
        assert int(writes) == len(tup.pending_writes)
    assert [int(r[1]) for r in rows] == sorted((int(r[1]) for r in rows), reverse=True)


# --- never writes --------------------------------------------------------------------------


def test_inspect_never_writes_to_the_database(db, tmp_path, capsys):
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(db.read_bytes())
    with sqlite3.connect(copy) as conn:
        # Rollback-journal mode: the saver's setup() would switch the file to WAL.
        assert conn.execute("PRAGMA journal_mode=DELETE").fetchone() == ("delete",)
    before = sha256(copy)
    for argv in ([], ["--thread", "alpha"], ["--thread", "alpha", "--history"]):
        assert run_inproc(capsys, str(copy), *argv)[0] == 0
    assert sha256(copy) == before
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)

    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    before = sha256(other)
    code, _, err = run_inproc(capsys, str(other))
    assert code == 1 and "no 'checkpoints' table" in err
    assert sha256(other) == before  # the stock setup() would have created its tables here
    with sqlite3.connect(other) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("notes",)]


# --- errors --------------------------------------------------------------------------------


def _error_cases(tmp: Path, good_db: Path) -> list[tuple[list[str], str]]:
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


def _assert_one_line_error(code: int, out: str, err: str, expected: str) -> None:
    assert code == 1, (out, err)
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(PREFIX), err
    assert expected in lines[0], err
    assert "s3cret" not in err


@pytest.mark.parametrize("case", range(len(ERROR_IDS)), ids=ERROR_IDS)
def test_errors_are_one_line(case, dbs, tmp_path, capsys):
    argv, expected = _error_cases(tmp_path, dbs["fast"])[case]
    _assert_one_line_error(*run_inproc(capsys, *argv), expected)


def test_corrupt_checkpoint_is_one_line(dbs, tmp_path, capsys):
    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(dbs["fast"].read_bytes())
    with sqlite3.connect(broken) as conn:
        conn.execute(
            "UPDATE checkpoints SET checkpoint = X'c1c1c1' WHERE thread_id = 'beta' AND "
            "checkpoint_id = (SELECT MAX(checkpoint_id) FROM checkpoints WHERE thread_id = 'beta')"
        )
    code, out, err = run_inproc(capsys, str(broken), "--thread", "beta")
    _assert_one_line_error(code, out, err, "cannot decode latest checkpoint of thread 'beta'")
    assert "DecodeError" in err
    # The listing does not decode checkpoints: it still works.
    assert run_inproc(capsys, str(broken))[0] == 0


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], "the following arguments are required: DB"),
        (["db.sqlite", "--checkpoint", "x"], "--checkpoint needs --thread"),
        (["db.sqlite", "--history"], "--history needs --thread"),
        (["db.sqlite", "--thread", "a", "--history", "--checkpoint", "x"], "drop --checkpoint"),
        (["db.sqlite", "--sizes", "--thread", "a", "--history"], "drop --history"),
    ],
)
def test_usage_errors_exit_2(argv, expected, capsys):
    with pytest.raises(SystemExit) as exc:
        inspect_cli.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: fast-serde inspect") and expected in err


# --- the command in a subprocess (python -m fast_serde inspect) ---------------------------


def test_cli_help_documents_everything():
    proc = run_cli("--help")
    assert proc.returncode == 0, proc.stderr
    for text in (
        "--thread", "--checkpoint", "--ns", "--history", "postgresql://", "SqliteSaver",
        "PostgresSaver", "base64", "exit status", "read-only", "newest first", "bytes",
        "--sizes", "--json", "LANGGRAPH_AES_KEY", "namespace", "msgpack",
    ):
        assert text in proc.stdout, text


def test_cli_lists_prints_and_shows_history(dbs, capsys):
    db = str(dbs["jsonplus"])
    listing = run_cli(db)
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout == run_inproc(capsys, db)[1]

    values = run_cli(db, "--thread", "alpha")
    assert values.returncode == 0, values.stderr
    # This process could import Color/Profile/Point, the subprocess could not (it got their
    # stored fields): the JSON is the same.
    assert json.loads(values.stdout) == json.loads(run_inproc(capsys, db, "--thread", "alpha")[1])
    assert "Traceback" not in values.stderr

    history = run_cli(db, "--thread", "beta", "--history")
    assert history.returncode == 0, history.stderr
    _, rows = table_rows(history.stdout)
    assert len(rows) == len(stock_tuples(dbs["jsonplus"], "beta"))


@pytest.mark.parametrize("case", [0, 2, 3, 5, 7, 9, 11], ids=[ERROR_IDS[i] for i in [0, 2, 3, 5, 7, 9, 11]])
def test_cli_errors_are_one_line(case, dbs, tmp_path):
    argv, expected = _error_cases(tmp_path, dbs["fast"])[case]
    proc = run_cli(*argv)
    _assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, expected)


def test_cli_usage_error_exits_2():
    proc = run_cli("db.sqlite", "--bogus")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "unrecognized arguments: --bogus" in proc.stderr
    proc = run_cli("db.sqlite", "--history")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "--history needs --thread" in proc.stderr


# --- PostgreSQL ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_db(pg_server: PgServer) -> str:
    from langgraph.checkpoint.postgres import PostgresSaver

    dsn = pg_server.create_database("inspect")
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(dsn, autocommit=True, prepare_threshold=0, row_factory=dict_row) as conn:
        saver = PostgresSaver(conn, serde=JsonPlusSerializer())
        saver.setup()
        run_threads(saver)
    return dsn


def test_postgres_listing_values_and_history(pg_db, dbs, capsys):
    from langgraph.checkpoint.postgres import PostgresSaver

    with PostgresSaver.from_conn_string(pg_db) as saver:
        stock = list(saver.list({"configurable": {"thread_id": "alpha", "checkpoint_ns": ""}}))

    code, out, err = run_inproc(capsys, pg_db, "--ns", "")
    assert code == 0, err
    _, rows = table_rows(out)
    assert [r[0] for r in rows] == ["beta", "alpha"]
    alpha = rows[1]
    assert int(alpha[2]) == len(stock)
    assert alpha[3] == stock[0].config["configurable"]["checkpoint_id"]
    # Every namespace by default: the subgraph's rows too, as in SQLite.
    code, out, err = run_inproc(capsys, pg_db, "--json")
    assert code == 0, err
    sqlite_listing = json.loads(run_inproc(capsys, str(dbs["jsonplus"]), "--json")[1])
    assert sorted(r["thread_id"] for r in json.loads(out)) == sorted(
        r["thread_id"] for r in sqlite_listing) == ["alpha"] * 3 + ["beta"] * 2

    code, out, err = run_inproc(capsys, pg_db, "--thread", "alpha")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["checkpoint_id"] == stock[0].config["configurable"]["checkpoint_id"]
    sqlite_doc = json.loads(run_inproc(capsys, str(dbs["jsonplus"]), "--thread", "alpha")[1])
    assert doc["channel_values"] == sqlite_doc["channel_values"]

    code, out, err = run_inproc(capsys, pg_db, "--thread", "alpha", "--history")
    assert code == 0, err
    _, rows = table_rows(out)
    assert [r[0] for r in rows] == [t.config["configurable"]["checkpoint_id"] for t in stock]
    assert [int(r[1]) for r in rows] == [t.metadata["step"] for t in stock]
    assert [int(r[4]) for r in rows] == [len(t.pending_writes) for t in stock]
    assert all(int(r[3]) > 0 for r in rows)


def test_postgres_cli_in_a_subprocess(pg_db):
    proc = run_cli(pg_db, "--thread", "beta")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["channel_values"]["extra"] == EXPECTED_EXTRA


def test_postgres_database_without_checkpoints_is_one_line(pg_server, capsys):
    dsn = pg_server.create_database("empty")
    password = re.search(r"://[^:]+:([^@]+)@", dsn)
    code, out, err = run_inproc(capsys, dsn)
    _assert_one_line_error(code, out, err, "is not a LangGraph checkpoint database")
    assert "'checkpoints', 'checkpoint_blobs', 'checkpoint_writes' tables" in err
    if password:
        assert password.group(1) not in err


def test_postgres_wrong_password_is_one_line_and_redacted(pg_server, capsys):
    dsn = re.sub(r"(://[^:]+:)[^@]+@", r"\1s3cret@", pg_server.dsn)
    if dsn == pg_server.dsn:
        pytest.skip("the server's DSN has no password")
    code, out, err = run_inproc(capsys, dsn)
    _assert_one_line_error(code, out, err, "cannot connect to PostgreSQL")
    assert "password authentication failed" in err


def test_postgres_session_is_read_only(pg_db):
    store = inspect_cli.open_store(pg_db)
    try:
        with pytest.raises(Exception, match="read-only transaction"):
            store.conn.execute("DELETE FROM checkpoints")
    finally:
        store.close()


# --- jsonable ------------------------------------------------------------------------------


class _NT(NamedTuple):
    a: int
    b: str


class _V1Model:  # stands in for a pydantic v1 model: __fields__ and dict()
    __fields__ = {"x": None}

    def dict(self) -> dict[str, Any]:
        return {"x": b"\x01"}


class _Opaque:
    def __repr__(self) -> str:
        return "<opaque 7>"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, True),
        (7, 7),
        (2**70, 2**70),
        (1.25, 1.25),
        (math.nan, "nan"),
        (-math.inf, "-inf"),
        ("tëxt", "tëxt"),
        (b"\xfb\xff", "+/8="),  # standard alphabet, not URL-safe
        (bytearray(b"ab"), "YWI="),
        (memoryview(b"ab"), "YWI="),
        (dt.date(2024, 2, 29), "2024-02-29"),
        (dt.time(12, 30, 1), "12:30:01"),
        (dt.timedelta(minutes=1, microseconds=500000), 60.5),
        (ZoneInfo("Europe/Paris"), "Europe/Paris"),
        (ipaddress.ip_address("::1"), "::1"),
        (ipaddress.ip_network("10.0.0.0/8"), "10.0.0.0/8"),
        (re.compile(r"a+b", re.I), "a+b"),
        (frozenset({3, 1, 2}), [1, 2, 3]),
        ({10, 9, "b", "a"}, [9, 10, "a", "b"]),
        (collections.deque([1, (2, 3)]), [1, [2, 3]]),
        (_NT(1, "x"), {"a": 1, "b": "x"}),
        (_DeltaSnapshot([1, 2]), [1, 2]),
        ({1: "a", None: "b", (1, 2): "c", uuid.UUID(int=1): "d", Color.RED: "e"},
         {"1": "a", "null": "b", "[1, 2]": "c", "00000000-0000-0000-0000-000000000001": "d", "red": "e"}),
        (_V1Model(), {"x": "AQ=="}),
        (_Opaque(), "<opaque 7>"),
        (HumanMessage(content="hi", id="m1"),
         {"content": "hi", "additional_kwargs": {}, "response_metadata": {}, "type": "human",
          "name": None, "id": "m1"}),
    ],
    ids=lambda v: type(v).__name__,
)
def test_jsonable(value, expected):
    result = jsonable(value)
    assert result == expected
    json.dumps(result, allow_nan=False)


def test_jsonable_numpy_array():
    np = pytest.importorskip("numpy")
    assert jsonable(np.arange(4, dtype=np.int32).reshape(2, 2)) == [[0, 1], [2, 3]]


def test_version_prints_the_installed_version(capsys):
    import fast_serde
    from fast_serde.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"fast-serde {fast_serde.__version__} (")
    assert fast_serde.__version__ != "0.0.0"  # the installed metadata's version
