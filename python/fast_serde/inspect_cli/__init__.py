"""``fast-serde inspect``: read the checkpoints of a LangGraph database, as tables and JSON.

``python -m fast_serde inspect DB [--thread ID] [--checkpoint ID] [--ns NS] [--history] [--sizes]
[--json]``

``DB`` is a SQLite file written by ``SqliteSaver``/``AsyncSqliteSaver`` or a ``postgresql://``
(``postgres://``) DSN of a database written by ``PostgresSaver``/``AsyncPostgresSaver``, with
``JsonPlusSerializer`` or ``FastSerializer`` (the same format, and ``"msgpack-zstd"`` blobs),
``EncryptedSerializer.from_pycryptodome_aes`` around either (key from ``LANGGRAPH_AES_KEY``). The
database is only read: SQLite is opened read-only (``mode=ro``; a WAL database without a ``-wal``
file ``immutable=1``, so no ``-shm``/``-wal`` file is left behind), a PostgreSQL session is set to
``default_transaction_read_only``, and neither saver's ``setup()`` (table creation, migrations)
runs.

* no ``--thread``: one row per thread and namespace (every namespace, or ``--ns``): its id,
  namespace, number of checkpoints, latest checkpoint id, step and time, most recently active
  first.
* ``--thread ID``: the latest checkpoint of the thread (or ``--checkpoint ID``), read through the
  stock saver's ``get_tuple`` with ``serde=FastSerializer()``, printed as one JSON object (see
  :func:`checkpoint_document` and :func:`jsonable`).
* ``--thread ID --history``: one row per checkpoint of the thread, newest first: id, step,
  source, stored bytes, pending writes.
* ``--sizes``: bytes per thread and per channel (``fast_serde.inspect_cli.sizes``).
* ``--json``: the listing, history or sizes as JSON.

Exit status: 0 on success; 1 on an error, reported as one line ``fast-serde inspect: error: ...``
on stderr (missing file, not a checkpoint database, unknown thread or checkpoint, bad DSN,
unreachable server, undecodable checkpoint); 2 on a command-line usage error (argparse, and
option combinations it cannot express, e.g. ``--history`` without ``--thread``).

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
    print_json,
    print_sizes,
    print_threads,
)
from .sizes import measure
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
        ``--help`` and usage errors (argparse's, and ``check_options``'s) raise
        ``SystemExit`` (0 and 2).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    check_options(parser, args)
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
    store = open_store(args.db)
    ns = "" if args.ns is None else args.ns  # a thread's checkpoints: the root graph by default
    try:
        if args.sizes:
            sizes = measure(store.blobs(args.thread, args.ns), store.serde)
            if args.thread is not None and not sizes.threads:
                raise InspectError(unknown_thread(args.thread, args.ns or ""))
            if args.json:
                print_json({
                    "threads": [r._asdict() for r in sizes.threads],
                    "channels": [r._asdict() for r in sizes.channels],
                })
            else:
                print_sizes(sizes)
        elif args.thread is None:
            threads = store.threads(args.ns)
            if args.json:
                print_json([r._asdict() for r in threads])
            else:
                print_threads(threads, args.ns)
        elif args.history:
            rows = store.history(args.thread, ns)
            if not rows:
                raise InspectError(unknown_thread(args.thread, ns))
            if args.json:
                print_json([r._asdict() for r in rows])
            else:
                print_history(rows)
        else:
            print_document(checkpoint_document(store, args.thread, ns, args.checkpoint))
    finally:
        store.close()
