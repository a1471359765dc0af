"""``fast-serde inspect``: read the checkpoints of a LangGraph database, as tables and JSON.

``python -m fast_serde inspect DB [--thread ID] [--checkpoint ID] [--ns NS] [--history]``

``DB`` is a SQLite file written by ``SqliteSaver``/``AsyncSqliteSaver`` or a ``postgresql://``
(``postgres://``) DSN of a database written by ``PostgresSaver``/``AsyncPostgresSaver``, with
``JsonPlusSerializer`` or ``FastSerializer`` (the same format). The database is only read: SQLite
is opened read-only (``mode=ro``), a PostgreSQL session is set to
``default_transaction_read_only``, and neither saver's ``setup()`` (table creation, migrations)
runs.

* no ``--thread``: one row per thread of namespace ``--ns``: its id, number of checkpoints,
  latest checkpoint id and step, most recently active first.
* ``--thread ID``: the latest checkpoint of the thread (or ``--checkpoint ID``), read through the
  stock saver's ``get_tuple`` with ``serde=FastSerializer()``, printed as one JSON object (see
  :func:`checkpoint_document` and :func:`jsonable`).
* ``--thread ID --history``: one row per checkpoint of the thread, newest first: id, step,
  source, stored bytes, pending writes.

Exit status: 0 on success; 1 on an error, reported as one line ``fast-serde inspect: error: ...``
on stderr (missing file, not a checkpoint database, unknown thread or checkpoint, bad DSN,
unreachable server, undecodable checkpoint); 2 on a command-line usage error (argparse).

One entry point, :func:`main` (``argv`` -> exit status), for ``fast_serde.__main__`` and the tests
alike. The modules: ``args`` (the parser and option checks), ``stores`` (SQLite and PostgreSQL,
read-only), ``render`` (tables, the JSON document, :func:`jsonable`), ``errors``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .args import build_parser, check_options
from .errors import InspectError, one_line, unknown_thread
from .render import (
    checkpoint_document,
    jsonable,
    print_document,
    print_error,
    print_history,
    print_threads,
)
from .stores import HistoryRow, ThreadRow, open_store

__all__ = [
    "HistoryRow",
    "InspectError",
    "ThreadRow",
    "checkpoint_document",
    "jsonable",
    "main",
    "open_store",
]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``fast-serde inspect`` with ``argv`` (the arguments after ``inspect``: list of str,
    default ``sys.argv[1:]``), printing to stdout.

    Returns:
        int exit status: 0 on success, 1 on any error (printed as one line
        ``fast-serde inspect: error: ...`` on stderr; no traceback), 130 on Ctrl-C.
        ``--help`` and usage errors raise ``SystemExit`` (0 and 2) from argparse.
    """
    args = build_parser().parse_args(argv)
    try:
        _run(args)
    except InspectError as exc:
        print_error(str(exc))
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output piped into e.g. `head`, which stopped reading: quietly stop too (and keep the
        # interpreter's final flush from reporting the broken pipe).
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 1
    except Exception as exc:  # never a traceback: one line naming what went wrong
        print_error(f"{type(exc).__name__}: {one_line(str(exc))}")
        return 1
    return 0


def _run(args: argparse.Namespace) -> None:
    check_options(args)
    store = open_store(args.db)
    try:
        if args.thread is None:
            print_threads(store.threads(args.ns), args.ns)
        elif args.history:
            rows = store.history(args.thread, args.ns)
            if not rows:
                raise InspectError(unknown_thread(args.thread, args.ns))
            print_history(rows)
        else:
            print_document(checkpoint_document(store, args.thread, args.ns, args.checkpoint))
    finally:
        store.close()
