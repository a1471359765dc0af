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

The command registers itself with :func:`add_parser` on an argparse subparsers object and runs
with :func:`run`; :func:`main` parses its own arguments (``fast_serde.__main__``'s convention).
"""

from __future__ import annotations

import argparse
import base64
import collections
import dataclasses
import datetime as dt
import decimal
import enum
import ipaddress
import json
import math
import os
import re
import sqlite3
import sys
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any, NamedTuple

__all__ = [
    "HistoryRow",
    "InspectError",
    "ThreadRow",
    "add_parser",
    "checkpoint_document",
    "jsonable",
    "main",
    "open_store",
    "run",
]

PROG = "fast-serde inspect"

SUMMARY = (
    "list the threads of a LangGraph checkpoint database (SQLite file or postgresql:// DSN), "
    "print a checkpoint's channel values as JSON, or a thread's history"
)

DESCRIPTION = """\
Read the checkpoints that LangGraph's stock savers wrote (SqliteSaver, AsyncSqliteSaver,
PostgresSaver, AsyncPostgresSaver; JsonPlusSerializer or fast-serde's FastSerializer, the same
format). Nothing is written: SQLite files are opened read-only, PostgreSQL sessions are
read-only, and no setup() or migration runs.

  without --thread         one row per thread: thread id, number of checkpoints, latest
                           checkpoint id and its step (most recently active thread first)
  --thread ID              the thread's latest checkpoint (or --checkpoint ID) as one JSON
                           object: thread_id, checkpoint_ns, checkpoint_id,
                           parent_checkpoint_id, ts, step, source, channel_values and
                           pending_writes ([{task_id, channel, value}])
  --thread ID --history    one row per checkpoint of the thread, newest first: checkpoint id,
                           step, source, bytes (stored size) and writes (pending writes)
"""

EPILOG = """\
JSON values: LangChain messages are objects with their "type" ("human", "ai", "tool", ...);
bytes are base64 (RFC 4648, standard alphabet); UUID, Decimal and paths are strings; datetime,
date and time are ISO 8601 strings; timedelta is a number of seconds; sets are sorted lists;
enums are their value; pydantic models, dataclasses and named tuples are objects of their
fields; dict keys that are not strings are written as JSON text ("1", "null", "[1, 2]");
NaN and infinities are the strings "nan", "inf", "-inf"; any other object is its repr().

bytes (--history): SQLite, the length of the stored checkpoint blob (channel values are
inline); PostgreSQL, the length of the checkpoint JSON plus the checkpoint_blobs rows its
channel_versions point at (blobs are shared by the checkpoints that did not change them).

Reading a checkpoint imports and rebuilds the classes it names, as LangGraph does (set
LANGGRAPH_STRICT_MSGPACK=true to restrict that to LangGraph's allowlist). A class that cannot
be imported here is shown as its stored fields, with LangGraph's warning on stderr.

exit status: 0 success; 1 error (one line on stderr: missing file, not a checkpoint
database, unknown thread or checkpoint, bad DSN, unreachable server, undecodable data);
2 command-line usage error.

examples:
  python -m fast_serde inspect checkpoints.sqlite
  python -m fast_serde inspect checkpoints.sqlite --thread 42
  python -m fast_serde inspect checkpoints.sqlite --thread 42 --history
  python -m fast_serde inspect postgresql://user:pass@localhost:5432/app --thread 42 \\
      --checkpoint 1f0c... --ns ""
"""


class InspectError(Exception):
    """A failure reported to the user as one line on stderr, with exit status 1."""


class ThreadRow(NamedTuple):
    """One thread of a namespace: ``checkpoints`` (int, count) and its latest checkpoint."""

    thread_id: str
    checkpoints: int
    latest_checkpoint_id: str
    latest_step: int | None


class HistoryRow(NamedTuple):
    """One checkpoint of a thread: ``nbytes`` (int, bytes stored), ``writes`` (int, count)."""

    checkpoint_id: str
    step: int | None
    source: str | None
    nbytes: int
    writes: int


# --- command line -------------------------------------------------------------------------


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``inspect`` arguments (``db``, ``--thread``, ``--checkpoint``, ``--ns``,
    ``--history``) to ``parser`` (an ``argparse.ArgumentParser``). Returns None."""
    parser.add_argument(
        "db",
        metavar="DB",
        help="a SQLite file written by SqliteSaver/AsyncSqliteSaver, or a postgresql:// "
        "(postgres://) DSN of a database written by PostgresSaver/AsyncPostgresSaver",
    )
    parser.add_argument(
        "--thread",
        metavar="ID",
        help="print this thread's latest checkpoint as JSON (with --history: list its checkpoints)",
    )
    parser.add_argument(
        "--checkpoint",
        metavar="ID",
        help="with --thread: print this checkpoint instead of the latest",
    )
    parser.add_argument(
        "--ns",
        metavar="NS",
        default="",
        help="checkpoint namespace (default: '', the root graph; subgraphs have their own)",
    )
    parser.add_argument(
        "--history",
        action="store_true",
        help="with --thread: list the thread's checkpoints (id, step, source, bytes, writes), "
        "newest first",
    )


def _new_parser_kwargs() -> dict[str, Any]:
    return {
        "description": DESCRIPTION,
        "epilog": EPILOG,
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }


def add_parser(subparsers: Any) -> None:
    """Register the ``inspect`` command on ``subparsers``.

    Args:
        subparsers: what ``argparse.ArgumentParser.add_subparsers()`` returned.

    Returns:
        None. The new sub-parser has ``func=run`` as a default, so a caller may dispatch with
        ``args.func(args)``.
    """
    parser = subparsers.add_parser("inspect", help=SUMMARY, **_new_parser_kwargs())
    configure_parser(parser)
    parser.set_defaults(func=run)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (list of str, default ``sys.argv[1:]``) and :func:`run` it.

    Returns the exit status (int, see :func:`run`). ``--help`` and usage errors raise
    ``SystemExit`` (0 and 2) from argparse.
    """
    parser = argparse.ArgumentParser(prog=PROG, **_new_parser_kwargs())
    configure_parser(parser)
    return run(parser.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Run ``inspect`` for parsed ``args`` (``db``, ``thread``, ``checkpoint``, ``ns``,
    ``history``), printing to stdout.

    Returns:
        int exit status: 0 on success, 1 on any error (printed as one line
        ``fast-serde inspect: error: ...`` on stderr; no traceback), 130 on Ctrl-C.
    """
    try:
        _run(args)
    except InspectError as exc:
        _error(str(exc))
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
        _error(f"{type(exc).__name__}: {_one_line(str(exc))}")
        return 1
    return 0


def _error(message: str) -> None:
    print(f"{PROG}: error: {_one_line(message)}", file=sys.stderr)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _run(args: argparse.Namespace) -> None:
    if args.thread is None:
        if args.checkpoint is not None:
            raise InspectError("--checkpoint needs --thread")
        if args.history:
            raise InspectError("--history needs --thread")
    elif args.history and args.checkpoint is not None:
        raise InspectError("--history lists every checkpoint of the thread; drop --checkpoint")

    store = open_store(args.db)
    try:
        if args.thread is None:
            _print_threads(store.threads(args.ns), args.ns)
        elif args.history:
            rows = store.history(args.thread, args.ns)
            if not rows:
                raise InspectError(_unknown_thread(args.thread, args.ns))
            _print_history(rows)
        else:
            document = checkpoint_document(store, args.thread, args.ns, args.checkpoint)
            sys.stdout.write(
                json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
            )
            sys.stdout.flush()
    finally:
        store.close()


def _unknown_thread(thread_id: str, ns: str) -> str:
    where = f" in namespace {ns!r}" if ns else ""
    return f"unknown thread {thread_id!r}{where} (no checkpoints; run without --thread to list threads)"


def _print_threads(rows: list[ThreadRow], ns: str) -> None:
    if not rows:
        print(f"no threads in namespace {ns!r}" if ns else "no threads")
        return
    print(
        _table(
            ("thread", "checkpoints", "latest checkpoint", "step"),
            [
                (r.thread_id, str(r.checkpoints), r.latest_checkpoint_id, _opt(r.latest_step))
                for r in rows
            ],
            right={1, 3},
        )
    )


def _print_history(rows: list[HistoryRow]) -> None:
    print(
        _table(
            ("checkpoint", "step", "source", "bytes", "writes"),
            [
                (r.checkpoint_id, _opt(r.step), _opt(r.source), str(r.nbytes), str(r.writes))
                for r in rows
            ],
            right={1, 3, 4},
        )
    )


def _opt(value: object) -> str:
    return "-" if value is None else str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = []
    for row in (header, *rows):
        cells = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


# --- databases ----------------------------------------------------------------------------


class _Store:
    """A checkpoint database: the stock saver (``saver``) plus the listing queries."""

    saver: Any

    def threads(self, ns: str) -> list[ThreadRow]:
        raise NotImplementedError

    def history(self, thread_id: str, ns: str) -> list[HistoryRow]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def open_store(db: str) -> _Store:
    """Open ``db`` (str: SQLite path, or ``postgresql://``/``postgres://`` DSN) read-only.

    Returns a store with ``.saver`` (the stock ``SqliteSaver``/``PostgresSaver`` with
    ``serde=FastSerializer()``), ``.threads(ns) -> list[ThreadRow]``,
    ``.history(thread_id, ns) -> list[HistoryRow]`` and ``.close()``.

    Raises:
        InspectError: missing file, not SQLite, not a checkpoint database, bad DSN, unreachable
            server, or the saver package not installed.
    """
    if db.startswith(("postgresql://", "postgres://")):
        return _PostgresStore(db)
    return _SqliteStore(db)


def _metadata(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, (bytes, bytearray, str)):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    return raw if isinstance(raw, dict) else {}


def _step(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


_SQLITE_COLUMNS = {
    "checkpoints": {
        "thread_id",
        "checkpoint_ns",
        "checkpoint_id",
        "parent_checkpoint_id",
        "type",
        "checkpoint",
        "metadata",
    },
    "writes": {
        "thread_id",
        "checkpoint_ns",
        "checkpoint_id",
        "task_id",
        "idx",
        "channel",
        "type",
        "value",
    },
}

_SQLITE_THREADS = """
SELECT c.thread_id, t.n, c.checkpoint_id, c.metadata
FROM (SELECT thread_id, COUNT(*) AS n, MAX(checkpoint_id) AS latest
      FROM checkpoints WHERE checkpoint_ns = ? GROUP BY thread_id) AS t
JOIN checkpoints AS c
  ON c.thread_id = t.thread_id AND c.checkpoint_ns = ? AND c.checkpoint_id = t.latest
ORDER BY c.checkpoint_id DESC, c.thread_id
"""

_SQLITE_HISTORY = """
SELECT c.checkpoint_id, c.metadata, COALESCE(LENGTH(CAST(c.checkpoint AS BLOB)), 0),
       (SELECT COUNT(*) FROM writes AS w
        WHERE w.thread_id = c.thread_id AND w.checkpoint_ns = c.checkpoint_ns
          AND w.checkpoint_id = c.checkpoint_id)
FROM checkpoints AS c
WHERE c.thread_id = ? AND c.checkpoint_ns = ?
ORDER BY c.checkpoint_id DESC
"""


def _is_not_a_database(exc: sqlite3.DatabaseError) -> bool:
    """SQLite's SQLITE_NOTADB: by name where sqlite3 gives it (3.11+), else by its fixed message
    (``sqlite3_errstr(SQLITE_NOTADB)``, what Python 3.10's exception carries)."""
    name = getattr(exc, "sqlite_errorname", None)
    if name is not None:
        return bool(name == "SQLITE_NOTADB")
    return str(exc) == "file is not a database"


class _SqliteStore(_Store):
    def __init__(self, db: str) -> None:
        path = Path(db)
        if not path.exists():
            raise InspectError(f"{db}: no such file")
        if path.is_dir():
            raise InspectError(f"{db}: is a directory, not a SQLite file")
        try:
            from langgraph.checkpoint.sqlite import SqliteSaver
        except ImportError as exc:
            raise InspectError(
                f"reading SQLite needs langgraph-checkpoint-sqlite ({exc}); "
                "pip install langgraph-checkpoint-sqlite"
            ) from exc
        from fast_serde.langgraph import FastSerializer

        # Read-only: the saver's setup() would create the tables in any SQLite file.
        uri = path.resolve().as_uri() + "?mode=ro"
        try:
            self.conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        except sqlite3.Error as exc:
            raise InspectError(f"{db}: cannot open ({exc})") from exc
        try:
            columns = {table: self._columns(table) for table in _SQLITE_COLUMNS}
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            if _is_not_a_database(exc):
                raise InspectError(f"{db}: not a SQLite database") from exc
            raise InspectError(f"{db}: cannot read ({exc})") from exc
        for table, required in _SQLITE_COLUMNS.items():
            if not columns[table]:
                self.conn.close()
                raise InspectError(
                    f"{db}: not a LangGraph checkpoint database (no {table!r} table)"
                )
            missing = sorted(required - columns[table])
            if missing:
                self.conn.close()
                raise InspectError(
                    f"{db}: not a LangGraph checkpoint database "
                    f"(table {table!r} has no column {', '.join(missing)})"
                )
        self.saver = SqliteSaver(self.conn, serde=FastSerializer())
        # The schema was checked above; setup() would try to write to a read-only connection.
        self.saver.is_setup = True
        if "task_path" not in columns["writes"]:
            # A database from before the column: read it as the saver reads such read-only
            # databases (task_path '' for every write).
            self.saver._has_task_path = False

    def _columns(self, table: str) -> set[str]:
        # `table` is one of the constant names above, never user input.
        return {row[1] for row in self.conn.execute(f"PRAGMA table_info({table})")}

    def threads(self, ns: str) -> list[ThreadRow]:
        return [
            ThreadRow(str(tid), int(n), str(cid), _step(_metadata(meta).get("step")))
            for tid, n, cid, meta in self.conn.execute(_SQLITE_THREADS, (ns, ns))
        ]

    def history(self, thread_id: str, ns: str) -> list[HistoryRow]:
        rows = []
        for cid, meta, nbytes, writes in self.conn.execute(_SQLITE_HISTORY, (thread_id, ns)):
            metadata = _metadata(meta)
            source = metadata.get("source")
            rows.append(
                HistoryRow(
                    str(cid),
                    _step(metadata.get("step")),
                    source if isinstance(source, str) else None,
                    int(nbytes),
                    int(writes),
                )
            )
        return rows

    def close(self) -> None:
        self.conn.close()


_PG_THREADS = """
SELECT c.thread_id, t.n, c.checkpoint_id, c.metadata -> 'step' AS step
FROM (SELECT thread_id, count(*) AS n, max(checkpoint_id) AS latest
      FROM checkpoints WHERE checkpoint_ns = %(ns)s GROUP BY thread_id) AS t
JOIN checkpoints AS c
  ON c.thread_id = t.thread_id AND c.checkpoint_ns = %(ns)s AND c.checkpoint_id = t.latest
ORDER BY c.checkpoint_id DESC, c.thread_id
"""

# The blobs joined as in BasePostgresSaver's SELECT_SQL (channel_versions -> checkpoint_blobs).
_PG_HISTORY = """
SELECT c.checkpoint_id,
       c.metadata -> 'step' AS step,
       c.metadata ->> 'source' AS source,
       (octet_length(c.checkpoint::text)
        + coalesce((SELECT sum(octet_length(bl.blob))
                    FROM jsonb_each_text(c.checkpoint -> 'channel_versions') AS cv
                    JOIN checkpoint_blobs AS bl
                      ON bl.thread_id = c.thread_id AND bl.checkpoint_ns = c.checkpoint_ns
                     AND bl.channel = cv.key AND bl.version = cv.value), 0))::bigint AS nbytes,
       (SELECT count(*) FROM checkpoint_writes AS w
        WHERE w.thread_id = c.thread_id AND w.checkpoint_ns = c.checkpoint_ns
          AND w.checkpoint_id = c.checkpoint_id) AS writes
FROM checkpoints AS c
WHERE c.thread_id = %(thread)s AND c.checkpoint_ns = %(ns)s
ORDER BY c.checkpoint_id DESC
"""

_PG_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")


def _redact(dsn: str) -> str:
    """``dsn`` with any password replaced by ``***``."""
    dsn = re.sub(r"(://[^:/@?#]*:)[^@/?#]*@", r"\1***@", dsn)
    return re.sub(r"(?i)(password=)[^&\s]*", r"\1***", dsn)


class _PostgresStore(_Store):
    def __init__(self, dsn: str) -> None:
        try:
            import psycopg
            from langgraph.checkpoint.postgres import PostgresSaver
            from psycopg.conninfo import conninfo_to_dict
            from psycopg.rows import dict_row
        except ImportError as exc:
            raise InspectError(
                f"reading PostgreSQL needs langgraph-checkpoint-postgres and psycopg ({exc}); "
                'pip install langgraph-checkpoint-postgres "psycopg[binary]"'
            ) from exc
        from fast_serde.langgraph import FastSerializer

        safe = _redact(dsn)

        def clean(exc: BaseException) -> str:
            return _one_line(str(exc).replace(dsn, safe))

        try:
            params = conninfo_to_dict(dsn)
        except psycopg.Error as exc:
            raise InspectError(f"bad DSN {safe}: {clean(exc)}") from exc
        port = str(params.get("port", ""))
        if port and not all(p.strip().isdigit() for p in port.split(",")):
            raise InspectError(f"bad DSN {safe}: port {port!r} is not a number")
        extra: dict[str, Any] = {} if "connect_timeout" in params else {"connect_timeout": 10}
        try:
            self.conn = psycopg.connect(
                dsn, autocommit=True, prepare_threshold=0, row_factory=dict_row, **extra
            )
        except psycopg.Error as exc:
            raise InspectError(f"cannot connect to PostgreSQL ({safe}): {clean(exc)}") from exc
        try:
            # Every later transaction of this session is read-only.
            self.conn.execute("SET default_transaction_read_only = on")
            found = self.conn.execute(
                "SELECT " + ", ".join(f"to_regclass('{t}') IS NOT NULL AS {t}" for t in _PG_TABLES)
            ).fetchone()
        except psycopg.Error as exc:
            self.conn.close()
            raise InspectError(f"cannot read PostgreSQL ({safe}): {clean(exc)}") from exc
        missing = [t for t in _PG_TABLES if not (found or {}).get(t)]
        if missing:
            self.conn.close()
            database = params.get("dbname") or params.get("user") or "the database"
            raise InspectError(
                f"PostgreSQL database {database!r} is not a LangGraph checkpoint database "
                f"(no {', '.join(repr(t) for t in missing)} "
                f"table{'s' if len(missing) > 1 else ''}; PostgresSaver.setup() creates them)"
            )
        self.saver = PostgresSaver(self.conn, serde=FastSerializer())

    def threads(self, ns: str) -> list[ThreadRow]:
        rows = self.conn.execute(_PG_THREADS, {"ns": ns}).fetchall()
        return [
            ThreadRow(str(r["thread_id"]), int(r["n"]), str(r["checkpoint_id"]), _step(r["step"]))
            for r in rows
        ]

    def history(self, thread_id: str, ns: str) -> list[HistoryRow]:
        rows = self.conn.execute(_PG_HISTORY, {"thread": thread_id, "ns": ns}).fetchall()
        return [
            HistoryRow(
                str(r["checkpoint_id"]),
                _step(r["step"]),
                r["source"],
                int(r["nbytes"]),
                int(r["writes"]),
            )
            for r in rows
        ]

    def close(self) -> None:
        self.conn.close()


# --- checkpoints as JSON --------------------------------------------------------------------


def checkpoint_document(
    store: _Store, thread_id: str, ns: str = "", checkpoint_id: str | None = None
) -> dict[str, Any]:
    """Read one checkpoint through ``store.saver.get_tuple`` and return it as JSON-ready data.

    Args:
        store: from :func:`open_store`.
        thread_id: the thread (str).
        ns: the checkpoint namespace (str, ``""`` for the root graph).
        checkpoint_id: a checkpoint id (str), or None for the thread's latest.

    Returns:
        dict with ``thread_id``, ``checkpoint_ns``, ``checkpoint_id``, ``parent_checkpoint_id``
        (str or None), ``ts`` (ISO 8601 str), ``step`` (int or None), ``source`` (str or None),
        ``channel_values`` (dict: channel -> :func:`jsonable` value) and ``pending_writes``
        (list of ``{"task_id", "channel", "value"}``).

    Raises:
        InspectError: unknown thread or checkpoint, or a checkpoint that cannot be decoded.
    """
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ns}
    if checkpoint_id is not None:
        configurable["checkpoint_id"] = checkpoint_id
    try:
        found = store.saver.get_tuple({"configurable": configurable})
    except (ValueError, TypeError, NotImplementedError, KeyError) as exc:
        which = checkpoint_id or "latest checkpoint"
        raise InspectError(
            f"cannot decode {which} of thread {thread_id!r}: {type(exc).__name__}: {exc}"
        ) from exc
    if found is None:
        if checkpoint_id is not None and store.history(thread_id, ns):
            raise InspectError(f"unknown checkpoint {checkpoint_id!r} in thread {thread_id!r}")
        raise InspectError(_unknown_thread(thread_id, ns))

    checkpoint = found.checkpoint
    parent = (found.parent_config or {}).get("configurable", {}).get("checkpoint_id")
    metadata = found.metadata or {}
    source = metadata.get("source")
    return {
        "thread_id": thread_id,
        "checkpoint_ns": ns,
        "checkpoint_id": found.config["configurable"]["checkpoint_id"],
        "parent_checkpoint_id": parent,
        "ts": checkpoint.get("ts"),
        "step": _step(metadata.get("step")),
        "source": source if isinstance(source, str) else None,
        "channel_values": jsonable(checkpoint.get("channel_values", {})),
        "pending_writes": [
            {"task_id": task_id, "channel": channel, "value": jsonable(value)}
            for task_id, channel, value in (found.pending_writes or [])
        ],
    }


try:  # a DeltaChannel snapshot stored in channel_values (langgraph-checkpoint >= 4.1)
    from langgraph.checkpoint.serde.types import _DeltaSnapshot
except ImportError:  # pragma: no cover - older langgraph-checkpoint
    _DeltaSnapshot = None  # type: ignore[assignment,misc]

_IP_TYPES = (
    ipaddress.IPv4Address,
    ipaddress.IPv6Address,
    ipaddress.IPv4Network,
    ipaddress.IPv6Network,
    ipaddress.IPv4Interface,
    ipaddress.IPv6Interface,
)


def jsonable(value: Any) -> Any:
    """``value`` as data that ``json.dumps(..., allow_nan=False)`` writes, readably.

    None, bool, int and str are kept; a float is kept unless NaN or infinite (then ``"nan"``,
    ``"inf"``, ``"-inf"``); bytes, bytearray and memoryview become standard base64 (str);
    Enum members their value; datetime, date and time ``isoformat()``; timedelta its seconds
    (float); UUID, Decimal, paths, IP addresses, tzinfo their ``str()``; compiled patterns
    their pattern; pydantic models (LangChain messages among them, with their ``type``) their
    ``model_dump()`` (v1: ``dict()``); dataclasses and named tuples a dict of their fields;
    LangGraph's ``_DeltaSnapshot`` its value; mappings a dict (non-str keys as JSON text:
    ``1`` -> ``"1"``, ``None`` -> ``"null"``, ``(1, 2)`` -> ``"[1, 2]"``); sets and frozensets
    a sorted list; other sequences a list; objects with ``tolist()`` (numpy) that; anything
    else its ``repr()``. Raises RecursionError only for values nested past the interpreter's
    recursion limit.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else repr(float(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (uuid.UUID, decimal.Decimal, PurePath, dt.tzinfo, *_IP_TYPES)):
        return str(value)
    if isinstance(value, re.Pattern):
        return jsonable(value.pattern)
    if _DeltaSnapshot is not None and isinstance(value, _DeltaSnapshot):
        return jsonable(value.value)
    if not isinstance(value, type):
        model_dump = getattr(value, "model_dump", None)
        if callable(model_dump):
            return jsonable(model_dump())
        if hasattr(type(value), "__fields__") and callable(getattr(value, "dict", None)):
            return jsonable(value.dict())  # pydantic v1
        if dataclasses.is_dataclass(value):
            return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {str(f): jsonable(item) for f, item in zip(value._fields, value)}
    if isinstance(value, Mapping):
        return {_json_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(item) for item in value), key=_sort_key)
    if isinstance(value, (list, tuple, collections.deque, Sequence)):
        return [jsonable(item) for item in value]
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and not isinstance(value, type):
        return jsonable(tolist())
    return repr(value)


def _json_key(key: Any) -> str:
    if isinstance(key, str) and not isinstance(key, enum.Enum):
        return str(key)
    converted = jsonable(key)
    return converted if isinstance(converted, str) else json.dumps(converted, sort_keys=True)


def _sort_key(item: Any) -> tuple[int, Any]:
    if isinstance(item, (int, float)) and not isinstance(item, bool):
        return (0, item)
    return (1, json.dumps(item, sort_keys=True))
