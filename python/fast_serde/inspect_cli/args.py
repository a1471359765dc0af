"""The command line of ``fast-serde inspect``: its argparse parser and the option checks."""

from __future__ import annotations

import argparse

__all__ = ["PROG", "build_parser", "check_options"]

PROG = "fast-serde inspect"

DESCRIPTION = """\
Read the checkpoints that LangGraph's stock savers wrote (SqliteSaver, AsyncSqliteSaver,
PostgresSaver, AsyncPostgresSaver; JsonPlusSerializer or fast-serde's FastSerializer, the same
format, compressed or not; EncryptedSerializer.from_pycryptodome_aes with the key in
LANGGRAPH_AES_KEY). Nothing is written: SQLite files are opened read-only (a WAL database
closed cleanly is opened immutable: no -shm or -wal file is left behind), PostgreSQL sessions
are read-only, and no setup() or migration runs.

  without --thread         one row per thread and namespace (every namespace, or --ns NS):
                           thread id, namespace (checkpoint_ns; (root) for the root graph,
                           "node:task-id" for a subgraph), number of checkpoints, latest
                           checkpoint id, its step and when it was made (UTC, from the
                           checkpoint id), most recently active first
  --thread ID              the thread's latest checkpoint (or --checkpoint ID) as one JSON
                           object: thread_id, checkpoint_ns, checkpoint_id,
                           parent_checkpoint_id, ts, step, source, channel_values and
                           pending_writes ([{task_id, channel, value}])
  --thread ID --history    one row per checkpoint of the thread, newest first: checkpoint id,
                           step, source, bytes (stored size) and writes (pending writes)
  --sizes [--thread ID]    where the bytes go, per thread and namespace and per channel:
                           values, stored bytes, of which zstd frames, MessagePack bytes
                           inside, bytes with FastSerializer(compression="zstd"), saving
  --json                   the listing, the history or the sizes as JSON on stdout
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

--sizes: "stored" is what the store holds (SQLite: checkpoint and write blobs; PostgreSQL:
checkpoint rows as JSON text, checkpoint_blobs, checkpoint_writes); "msgpack" what those
values are once decrypted and decompressed (what JsonPlusSerializer stores); "with zstd" what
FastSerializer(compression="zstd") with its defaults would store. A SQLite checkpoint holds
every channel inline: each channel's value is measured inside it. Encrypted values need
LANGGRAPH_AES_KEY, else they count as "unread".

exit status: 0 success; 1 error (one line on stderr: missing file, not a checkpoint
database, unknown thread or checkpoint, bad DSN, unreachable server, undecodable data,
an encrypted checkpoint without LANGGRAPH_AES_KEY); 2 command-line usage error.

examples:
  python -m fast_serde inspect checkpoints.sqlite
  python -m fast_serde inspect checkpoints.sqlite --thread 42
  python -m fast_serde inspect checkpoints.sqlite --thread 42 --history
  python -m fast_serde inspect checkpoints.sqlite --sizes --json
  python -m fast_serde inspect postgresql://user:pass@localhost:5432/app --thread 42 \\
      --checkpoint 1f0c... --ns ""
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``inspect`` parser (``argparse.ArgumentParser``): ``db``, ``--thread``,
    ``--checkpoint``, ``--ns``, ``--history``, ``--sizes``, ``--json``, with
    :data:`DESCRIPTION` and :data:`EPILOG` as its help."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
        default=None,
        help="checkpoint namespace: '' for the root graph, a subgraph's 'node:task-id' "
        "(default: every namespace for the listing and --sizes, the root graph with --thread)",
    )
    parser.add_argument(
        "--history",
        action="store_true",
        help="with --thread: list the thread's checkpoints (id, step, source, bytes, writes), "
        "newest first",
    )
    parser.add_argument(
        "--sizes",
        action="store_true",
        help="bytes per thread and per channel: stored, zstd-compressed, MessagePack, and "
        "with FastSerializer(compression='zstd') (with --thread: that thread only)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the listing, --history or --sizes as JSON (a checkpoint is always JSON)",
    )
    return parser


def check_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Reject option combinations argparse cannot express (``--checkpoint`` or ``--history``
    without ``--thread``, ``--history`` with ``--checkpoint``, ``--sizes`` with either).

    Raises:
        SystemExit: status 2, through ``parser.error`` (the usage and the message on stderr),
            as argparse's own usage errors.
    """
    if args.sizes and (args.history or args.checkpoint is not None):
        parser.error("--sizes counts every checkpoint; drop --history and --checkpoint")
    if args.thread is None:
        if args.checkpoint is not None:
            parser.error("--checkpoint needs --thread")
        if args.history:
            parser.error("--history needs --thread")
    elif args.history and args.checkpoint is not None:
        parser.error("--history lists every checkpoint of the thread; drop --checkpoint")
