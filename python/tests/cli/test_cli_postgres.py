"""``fast-serde inspect`` on a ``PostgresSaver`` database, on a throwaway server (pg_server.py).

The stores and the expected values: conftest.py.
"""

from __future__ import annotations

import json
import re

import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from fast_serde import inspect_cli

from cli_helpers import (
    EXPECTED_EXTRA,
    assert_one_line_error,
    run_cli,
    run_inproc,
    run_threads,
    table_rows,
)
from pg_server import PgServer, pg_server_fixture  # noqa: E402


pg_server = pytest.fixture(scope="module", name="pg_server")(pg_server_fixture)


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
    assert_one_line_error(code, out, err, "is not a LangGraph checkpoint database")
    assert "'checkpoints', 'checkpoint_blobs', 'checkpoint_writes' tables" in err
    if password:
        assert password.group(1) not in err


def test_postgres_wrong_password_is_one_line_and_redacted(pg_server, capsys):
    dsn = re.sub(r"(://[^:]+:)[^@]+@", r"\1s3cret@", pg_server.dsn)
    if dsn == pg_server.dsn:
        pytest.skip("the server's DSN has no password")
    code, out, err = run_inproc(capsys, dsn)
    assert_one_line_error(code, out, err, "cannot connect to PostgreSQL")
    assert "password authentication failed" in err


def test_postgres_session_is_read_only(pg_db):
    store = inspect_cli.open_store(pg_db)
    try:
        with pytest.raises(Exception, match="read-only transaction"):
            store.conn.execute("DELETE FROM checkpoints")
    finally:
        store.close()
