"""The checkpoint databases ``fast-serde inspect`` reads: SQLite files and PostgreSQL.

:func:`open_store` opens one read-only and returns a :class:`Store`: the stock saver
(``SqliteSaver``/``PostgresSaver`` with :class:`ReadingSerde`, for reading checkpoints) and
the listing queries (:class:`ThreadRow`, :class:`HistoryRow`). The saver packages are imported
only when a database of their kind is opened, so the command's ``--help`` needs neither.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from .errors import InspectError, one_line

__all__ = [
    "BlobRow",
    "HistoryRow",
    "ReadingSerde",
    "PostgresStore",
    "SqliteStore",
    "Store",
    "ThreadRow",
    "as_step",
    "open_store",
]


class ThreadRow(NamedTuple):
    """One thread in one namespace (``checkpoint_ns``, ``""`` for the root graph, a subgraph's
    ``"node:task-id"`` otherwise): ``checkpoints`` (int, count), its latest checkpoint's id and
    step, and ``last_checkpoint_at``, when that checkpoint was made (ISO 8601 str in UTC, read
    from the checkpoint id, a UUID version 6 as LangGraph makes them; None for another id)."""

    thread_id: str
    checkpoint_ns: str
    checkpoints: int
    latest_checkpoint_id: str
    latest_step: int | None
    last_checkpoint_at: str | None


class BlobRow(NamedTuple):
    """One stored value, for ``--sizes``: where it is (``kind``: ``"checkpoint"``, ``"blob"``
    (PostgreSQL's ``checkpoint_blobs``) or ``"write"``; ``channel``: None for a whole checkpoint),
    its type tag (``"msgpack"``, ``"msgpack-zstd"``, ``"msgpack+aes"``, ...; ``"jsonb"`` for a
    PostgreSQL checkpoint row) and its stored bytes."""

    thread_id: str
    checkpoint_ns: str
    kind: str
    channel: str | None
    type_tag: str | None
    data: bytes


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

    def threads(self, ns: str | None) -> list[ThreadRow]:
        """The threads of namespace ``ns`` (every namespace when None), most recent first."""
        raise NotImplementedError

    def blobs(self, thread_id: str | None, ns: str | None) -> Iterator[BlobRow]:
        """Every stored value of the thread (every thread when None) in namespace ``ns``
        (every namespace when None), for ``--sizes``."""
        raise NotImplementedError

    def history(self, thread_id: str, ns: str) -> list[HistoryRow]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def open_store(db: str) -> Store:
    """Open ``db`` (str: SQLite path, or ``postgresql://``/``postgres://`` DSN) read-only.

    Returns a store with ``.saver`` (the stock ``SqliteSaver``/``PostgresSaver`` with
    :class:`ReadingSerde` as ``serde``), ``.threads(ns) -> list[ThreadRow]``,
    ``.blobs(thread_id, ns) -> Iterator[BlobRow]``,
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


# 100-ns intervals from the UUID epoch (1582-10-15) to the Unix epoch (RFC 9562 section 5.1).
_UUID_EPOCH_OFFSET = 0x01B21DD213814000


def checkpoint_time(checkpoint_id: str) -> str | None:
    """When a checkpoint was made, read from its id: LangGraph's ids are UUID version 6
    (``langgraph.checkpoint.base.id.uuid6``), whose 60-bit timestamp counts 100 ns from the UUID
    epoch (RFC 9562 section 5.6). Returns an ISO 8601 str in UTC (microseconds), or None for an
    id that is not a UUID version 6."""
    try:
        value = uuid.UUID(checkpoint_id)
    except (ValueError, TypeError, AttributeError):
        return None
    if value.version != 6:
        return None
    ticks = ((value.int >> 80) << 12) | ((value.int >> 64) & 0x0FFF)
    micros = (ticks - _UUID_EPOCH_OFFSET) // 10
    if micros < 0:
        return None
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return (epoch + dt.timedelta(microseconds=micros)).isoformat()


class ReadingSerde:
    """The serializer the savers read with: ``FastSerializer()`` (every tag JsonPlusSerializer
    reads, and ``"msgpack-zstd"``), and for an encrypted value (a tag with ``+``, e.g.
    ``"msgpack+aes"``) LangGraph's ``EncryptedSerializer.from_pycryptodome_aes`` around it, built
    on first use: the key is taken as that method takes it, from ``LANGGRAPH_AES_KEY`` (16, 24 or
    32 bytes). Without the key, reading an encrypted value raises its ValueError."""

    def __init__(self) -> None:
        from fast_serde.langgraph import FastSerializer

        self.fast = FastSerializer()
        self._encrypted: Any = None

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        return self.fast.dumps_typed(obj)

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        # A tag that is no str (NULL in a damaged store) goes where the stock saver sends it.
        if isinstance(data[0], str) and "+" in data[0]:
            return self.encrypted().loads_typed(data)
        return self.fast.loads_typed(data)

    def encrypted(self) -> Any:
        """``EncryptedSerializer.from_pycryptodome_aes(serde=FastSerializer())``.

        Raises:
            ValueError: ``LANGGRAPH_AES_KEY`` unset or not 16, 24 or 32 bytes long.
            ImportError: pycryptodome is not installed.
        """
        if self._encrypted is None:
            from langgraph.checkpoint.serde.encrypted import EncryptedSerializer

            self._encrypted = EncryptedSerializer.from_pycryptodome_aes(serde=self.fast)
        return self._encrypted

    def plain(self, type_tag: str, data: bytes) -> tuple[str, bytes]:
        """The value as the inner serializer wrote it: ``(tag, bytes)`` after decryption (a tag
        with ``+``). Raises what :meth:`encrypted` raises, and the cipher's errors."""
        if "+" not in type_tag:
            return type_tag, data
        inner, cipher = type_tag.split("+", 1)
        return inner, self.encrypted().cipher.decrypt(cipher, data)


def _wal_without_files(path: Path) -> bool:
    """True for a SQLite file in WAL mode (header bytes 18-19 are 2: SQLite's file format,
    section 1.3) with no ``-wal`` file beside it: nothing is waiting in a WAL, so the file alone
    is the database and may be opened ``immutable=1``, which creates no ``-shm``/``-wal``."""
    try:
        with path.open("rb") as f:
            header = f.read(100)
    except OSError:
        return False
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        return False
    wal = header[18] == 2 or header[19] == 2
    return wal and not Path(str(path) + "-wal").exists()


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
SELECT c.thread_id, c.checkpoint_ns, t.n, c.checkpoint_id, c.metadata
FROM (SELECT thread_id, checkpoint_ns, COUNT(*) AS n, MAX(checkpoint_id) AS latest
      FROM checkpoints WHERE (? IS NULL OR checkpoint_ns = ?)
      GROUP BY thread_id, checkpoint_ns) AS t
JOIN checkpoints AS c
  ON c.thread_id = t.thread_id AND c.checkpoint_ns = t.checkpoint_ns
 AND c.checkpoint_id = t.latest
ORDER BY c.checkpoint_id DESC, c.thread_id, c.checkpoint_ns
"""

_SQLITE_CHECKPOINT_BLOBS = """
SELECT thread_id, checkpoint_ns, type, checkpoint FROM checkpoints
WHERE (? IS NULL OR thread_id = ?) AND (? IS NULL OR checkpoint_ns = ?)
"""

_SQLITE_WRITE_BLOBS = """
SELECT thread_id, checkpoint_ns, channel, type, value FROM writes
WHERE (? IS NULL OR thread_id = ?) AND (? IS NULL OR checkpoint_ns = ?)
"""


def _as_bytes(data: Any) -> bytes:
    if data is None:
        return b""
    if isinstance(data, str):
        return data.encode()
    return bytes(data)

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
        # Read-only: the saver's setup() would create the tables in any SQLite file. A WAL file
        # opened read-only still gets -shm and -wal files, which outlive the connection: a WAL
        # database with no -wal file (closed cleanly) is opened immutable instead, which reads
        # the file alone and creates nothing. With a -wal file there (a writer may be at work),
        # it is read as SQLite reads it, WAL included.
        uri = path.resolve().as_uri() + "?mode=ro"
        if _wal_without_files(path):
            uri += "&immutable=1"
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
        self.serde = ReadingSerde()
        self.saver = SqliteSaver(self.conn, serde=self.serde)
        # The schema was checked above; setup() would try to write to a read-only connection.
        self.saver.is_setup = True
        if "task_path" not in columns["writes"]:
            # A database from before the column: read it as the saver reads such read-only
            # databases (task_path '' for every write).
            self.saver._has_task_path = False

    def _columns(self, table: str) -> set[str]:
        # `table` is one of the constant names above, never user input.
        return {row[1] for row in self.conn.execute(f"PRAGMA table_info({table})")}

    def threads(self, ns: str | None) -> list[ThreadRow]:
        return [
            ThreadRow(
                str(tid), str(cns), int(n), str(cid), as_step(_metadata(meta).get("step")),
                checkpoint_time(str(cid)),
            )
            for tid, cns, n, cid, meta in self.conn.execute(_SQLITE_THREADS, (ns, ns))
        ]

    def blobs(self, thread_id: str | None, ns: str | None) -> Iterator[BlobRow]:
        where = (thread_id, thread_id, ns, ns)
        for tid, cns, tag, data in self.conn.execute(_SQLITE_CHECKPOINT_BLOBS, where):
            yield BlobRow(str(tid), str(cns), "checkpoint", None, tag, _as_bytes(data))
        for tid, cns, channel, tag, data in self.conn.execute(_SQLITE_WRITE_BLOBS, where):
            yield BlobRow(str(tid), str(cns), "write", str(channel), tag, _as_bytes(data))

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
SELECT c.thread_id, c.checkpoint_ns, t.n, c.checkpoint_id, c.metadata -> 'step' AS step
FROM (SELECT thread_id, checkpoint_ns, count(*) AS n, max(checkpoint_id) AS latest
      FROM checkpoints WHERE (%(ns)s::text IS NULL OR checkpoint_ns = %(ns)s)
      GROUP BY thread_id, checkpoint_ns) AS t
JOIN checkpoints AS c
  ON c.thread_id = t.thread_id AND c.checkpoint_ns = t.checkpoint_ns
 AND c.checkpoint_id = t.latest
ORDER BY c.checkpoint_id DESC, c.thread_id, c.checkpoint_ns
"""

_PG_FILTER = """(%(thread)s::text IS NULL OR thread_id = %(thread)s)
  AND (%(ns)s::text IS NULL OR checkpoint_ns = %(ns)s)"""

_PG_BLOBS = [
    ("checkpoint", "SELECT thread_id, checkpoint_ns, NULL AS channel, 'jsonb' AS type, "
     "convert_to(checkpoint::text, 'UTF8') AS data FROM checkpoints WHERE " + _PG_FILTER),
    ("blob", "SELECT thread_id, checkpoint_ns, channel, type, blob AS data "
     "FROM checkpoint_blobs WHERE " + _PG_FILTER),
    ("write", "SELECT thread_id, checkpoint_ns, channel, type, blob AS data "
     "FROM checkpoint_writes WHERE " + _PG_FILTER),
]

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
        self.serde = ReadingSerde()
        self.saver = PostgresSaver(self.conn, serde=self.serde)

    def threads(self, ns: str | None) -> list[ThreadRow]:
        rows = self.conn.execute(_PG_THREADS, {"ns": ns}).fetchall()
        return [
            ThreadRow(
                str(r["thread_id"]), str(r["checkpoint_ns"]), int(r["n"]),
                str(r["checkpoint_id"]), as_step(r["step"]), checkpoint_time(str(r["checkpoint_id"])),
            )
            for r in rows
        ]

    def blobs(self, thread_id: str | None, ns: str | None) -> Iterator[BlobRow]:
        params = {"thread": thread_id, "ns": ns}
        for kind, query in _PG_BLOBS:
            # A server-side cursor (inside a read-only transaction): rows arrive in batches.
            with self.conn.transaction(), self.conn.cursor(name=f"inspect_{kind}") as cur:
                cur.execute(query, params)
                for r in cur:
                    channel = r["channel"]
                    yield BlobRow(
                        str(r["thread_id"]), str(r["checkpoint_ns"]), kind,
                        None if channel is None else str(channel), r["type"], _as_bytes(r["data"]),
                    )

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
