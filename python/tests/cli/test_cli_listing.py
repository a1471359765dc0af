"""``fast-serde inspect`` on real checkpoint databases: thread listing, values, ``--checkpoint``,
``--history``, and that it never writes.

The stores and the expected values: conftest.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import sqlite3
from pathlib import Path

from cli_helpers import BLOB, EXPECTED_EXTRA, run_inproc, stock_tuples, table_rows


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
