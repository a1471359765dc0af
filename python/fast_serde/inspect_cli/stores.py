"""The checkpoint databases ``fast-serde inspect`` reads: SQLite files and PostgreSQL.

:func:`open_store` opens one read-only and returns a :class:`Store`: the stock saver
(``SqliteSaver``/``PostgresSaver`` with ``serde=FastSerializer()``, for reading checkpoints) and
the listing queries (:class:`ThreadRow`, :class:`HistoryRow`). The saver packages are imported
only when a database of their kind is opened, so the command's ``--help`` needs neither.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any, NamedTuple

from .errors import InspectError, one_line

__all__ = [
    "HistoryRow",
    "PostgresStore",
    "SqliteStore",
    "Store",
    "ThreadRow",
    "as_step",
    "open_store",
]


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


class Store:
    """A checkpoint database: the stock saver (``saver``) plus the listing queries."""

    saver: Any

    def threads(self, ns: str) -> list[ThreadRow]:
        raise NotImplementedError

    def history(self, thread_id: str, ns: str) -> list[HistoryRow]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def open_store(db: str) -> Store:
    """Open ``db`` (str: SQLite path, or ``postgresql://``/``postgres://`` DSN) read-only.

    Returns a store with ``.saver`` (the stock ``SqliteSaver``/``PostgresSaver`` with
    ``serde=FastSerializer()``), ``.threads(ns) -> list[ThreadRow]``,
    ``.history(thread_id, ns) -> list[HistoryRow]`` and ``.close()``.

    Raises:
        InspectError: missing file, not SQLite, not a checkpoint database, bad DSN, unreachable
            server, or the saver package not installed.
    """
    if db.startswith(("postgresql://", "postgres://")):
        return PostgresStore(db)
    return SqliteStore(db)


def _metadata(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, (bytes, bytearray, str)):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    return raw if isinstance(raw, dict) else {}


def as_step(value: Any) -> int | None:
    """``value`` if it is an int (a checkpoint's ``metadata["step"]``), else None."""
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


class SqliteStore(Store):
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
            ThreadRow(str(tid), int(n), str(cid), as_step(_metadata(meta).get("step")))
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
                    as_step(metadata.get("step")),
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


class PostgresStore(Store):
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
            return one_line(str(exc).replace(dsn, safe))

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
            ThreadRow(str(r["thread_id"]), int(r["n"]), str(r["checkpoint_id"]), as_step(r["step"]))
            for r in rows
        ]

    def history(self, thread_id: str, ns: str) -> list[HistoryRow]:
        rows = self.conn.execute(_PG_HISTORY, {"thread": thread_id, "ns": ns}).fetchall()
        return [
            HistoryRow(
                str(r["checkpoint_id"]),
                as_step(r["step"]),
                r["source"],
                int(r["nbytes"]),
                int(r["writes"]),
            )
            for r in rows
        ]

    def close(self) -> None:
        self.conn.close()
