"""``fast-serde inspect``: every error is one line, usage errors exit 2.

The stores and the expected values: conftest.py.
"""

from __future__ import annotations

import sqlite3

import pytest

from fast_serde import inspect_cli

from cli_helpers import ERROR_IDS, assert_one_line_error, error_cases, run_inproc


@pytest.mark.parametrize("case", range(len(ERROR_IDS)), ids=ERROR_IDS)
def test_errors_are_one_line(case, dbs, tmp_path, capsys):
    argv, expected = error_cases(tmp_path, dbs["fast"])[case]
    assert_one_line_error(*run_inproc(capsys, *argv), expected)


def test_corrupt_checkpoint_is_one_line(dbs, tmp_path, capsys):
    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(dbs["fast"].read_bytes())
    with sqlite3.connect(broken) as conn:
        conn.execute(
            "UPDATE checkpoints SET checkpoint = X'c1c1c1' WHERE thread_id = 'beta' AND "
            "checkpoint_id = (SELECT MAX(checkpoint_id) FROM checkpoints WHERE thread_id = 'beta')"
        )
    code, out, err = run_inproc(capsys, str(broken), "--thread", "beta")
    assert_one_line_error(code, out, err, "cannot decode latest checkpoint of thread 'beta'")
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
