"""``python -m fast_serde inspect ...`` in a subprocess: help, listing, values, history and errors
as the in-process runs give them (the subprocess cannot import the graph's classes, so it reads
them back from their stored fields: the JSON must not change).

The stores and the expected values: conftest.py.
"""

from __future__ import annotations

import json

import pytest

from cli_helpers import (
    ERROR_IDS,
    assert_one_line_error,
    error_cases,
    run_cli,
    run_inproc,
    stock_tuples,
    table_rows,
)


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
    argv, expected = error_cases(tmp_path, dbs["fast"])[case]
    proc = run_cli(*argv)
    assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, expected)


def test_cli_usage_error_exits_2():
    proc = run_cli("db.sqlite", "--bogus")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "unrecognized arguments: --bogus" in proc.stderr
    proc = run_cli("db.sqlite", "--history")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "--history needs --thread" in proc.stderr
