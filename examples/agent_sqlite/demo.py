"""``make demo``: FastSerializer under a real LangGraph agent, on SQLite.

``python examples/agent_sqlite/demo.py [--turns N] [--db FILE] [--thread ID] [--quiet]``, with
the project's venv (requirements-dev.txt: langgraph, langgraph-checkpoint-sqlite, tqdm). What it
does, end to end, with no network:

1. Builds the agent of ``scripted_agent.py`` (a ReAct-style ``StateGraph``: a scripted
   tool-calling chat model, a ``ToolNode`` with a calculator and a documentation lookup).
2. Compiles it with ``SqliteSaver(serde=FastSerializer())`` on a SQLite file and runs
   ``--turns`` human turns on one thread.
3. Resumes in a fresh process (this script with ``--resume ...``): reopens the file, checks that
   ``graph.get_state`` returns every message of step 2, and runs :data:`RESUME_TURNS` more turns.
4. Reads every checkpoint of the thread back and prints a table comparing ``FastSerializer``
   with LangGraph's ``JsonPlusSerializer`` (``comparison.py``): time per checkpoint of
   ``dumps_typed`` and ``loads_typed``, bytes, and whether both write identical bytes and read
   back equal checkpoints.

Timings are printed, never asserted. The exit status is 0 only if the bytes are identical, the
read-back checkpoints are equal and the resume succeeded.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path
from typing import Any

from langchain_core.messages import AnyMessage, BaseMessage, HumanMessage
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph.state import CompiledStateGraph
from tqdm import tqdm

from fast_serde.langgraph import FastSerializer

# This directory's modules (sys.path[0] when the script runs).
from comparison import TABLE_HEADER, TIMING_ROUNDS, compare, format_table, stored_checkpoints
from scripted_agent import build_graph, question

DEFAULT_TURNS = 50
"""Human turns of the first run."""
RESUME_TURNS = 3
"""Human turns the resumed process adds."""
DEFAULT_THREAD = "demo"
DB_NAME = "demo.sqlite"


@contextmanager
def _open_saver(db: Path) -> Iterator[SqliteSaver]:
    with closing(sqlite3.connect(db, check_same_thread=False)) as conn:
        yield SqliteSaver(conn, serde=FastSerializer())


def _thread_config(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def _messages(graph: CompiledStateGraph, config: dict[str, Any]) -> list[AnyMessage]:
    return list(graph.get_state(config).values.get("messages", []))


def _digest(messages: Sequence[BaseMessage]) -> str:
    """sha256 over the messages' JSON dumps: equal transcripts, equal digests."""
    dumped = [m.model_dump() for m in messages]
    return hashlib.sha256(json.dumps(dumped, sort_keys=True, default=str).encode()).hexdigest()


def _run_turns(
    graph: CompiledStateGraph,
    config: dict[str, Any],
    first: int,
    count: int,
    *,
    quiet: bool,
    desc: str,
) -> None:
    for turn in tqdm(range(first, first + count), desc=desc, unit="turn", disable=quiet):
        graph.invoke({"messages": [HumanMessage(question(turn))]}, config)


def _turns_done(messages: Sequence[BaseMessage]) -> int:
    return sum(isinstance(m, HumanMessage) for m in messages)


def _first_run(args: argparse.Namespace, db: Path) -> list[AnyMessage]:
    """Run ``args.turns`` turns on the thread; returns its messages afterwards."""
    config = _thread_config(args.thread)
    with _open_saver(db) as saver:
        graph = build_graph(saver)
        start = _turns_done(_messages(graph, config))
        _run_turns(graph, config, start, args.turns, quiet=args.quiet, desc="first run")
        messages = _messages(graph, config)
    print(
        f"first run: {args.turns} turns on thread {args.thread!r} -> "
        f"{len(messages)} messages in {db}"
    )
    return messages


def _resume_in_fresh_process(
    args: argparse.Namespace, db: Path, messages: Sequence[BaseMessage]
) -> bool:
    """Run :func:`_resume` in a new interpreter; True if it exited with 0."""
    sys.stdout.flush()  # the child writes to the same stdout
    child = subprocess.run(
        [
            sys.executable, str(Path(__file__).resolve()), "--resume",
            "--db", str(db), "--thread", args.thread, "--turns", str(RESUME_TURNS),
            "--expect-messages", str(len(messages)), "--expect-digest", _digest(messages),
            *(["--quiet"] if args.quiet else []),
        ],
        check=False,
    )
    if child.returncode != 0:
        print(f"FAILED: the resumed process exited with {child.returncode}", file=sys.stderr)
    return child.returncode == 0


def _resume(args: argparse.Namespace, db: Path) -> int:
    """The fresh process: check the thread's state, then continue it."""
    config = _thread_config(args.thread)
    with _open_saver(db) as saver:
        graph = build_graph(saver)
        messages = _messages(graph, config)
        if len(messages) != args.expect_messages or _digest(messages) != args.expect_digest:
            print(
                f"FAILED: thread {args.thread!r} in {db} read back {len(messages)} messages "
                f"(digest {_digest(messages)[:12]}), expected {args.expect_messages} "
                f"(digest {args.expect_digest[:12]})",
                file=sys.stderr,
            )
            return 1
        start = _turns_done(messages)
        _run_turns(graph, config, start, args.turns, quiet=args.quiet, desc="resumed")
        after = _messages(graph, config)
    print(
        f"resumed thread {args.thread!r} in a fresh process with {len(messages)} messages "
        f"(all of the first run); {args.turns} more turns -> {len(after)} messages"
    )
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="examples/agent_sqlite/demo.py",
        description=(
            "Run a scripted LangGraph agent checkpointed to SQLite with FastSerializer, "
            "resume it in a fresh process, then compare FastSerializer with "
            "JsonPlusSerializer on every checkpoint of the thread."
        ),
    )
    parser.add_argument(
        "--turns", type=_positive_int, default=DEFAULT_TURNS,
        help=f"human turns of the first run (default {DEFAULT_TURNS})",
    )
    parser.add_argument(
        "--db", type=Path,
        help=f"SQLite file (default: {DB_NAME} in a temporary directory, deleted afterwards)",
    )
    parser.add_argument(
        "--thread", default=DEFAULT_THREAD, help=f"thread id (default {DEFAULT_THREAD!r})"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    # Internal: the resumed child process.
    parser.add_argument("--resume", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--expect-messages", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--expect-digest", help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; ``argv`` are its arguments (default ``sys.argv[1:]``).

    Prints progress (stderr, unless ``--quiet``), the resume line and the
    comparison table (stdout; times in microseconds per checkpoint, sizes in
    bytes). Returns the exit status: 0 if the resumed process found every
    message and both serializers wrote identical bytes and read back equal
    checkpoints, 1 otherwise; argparse exits with 2 on bad arguments.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.resume:
        if args.db is None or args.expect_messages is None or args.expect_digest is None:
            parser.error("--resume needs --db, --expect-messages and --expect-digest")
        return _resume(args, args.db)

    with ExitStack() as stack:
        if args.db is not None:
            db = args.db
        else:
            tmp = stack.enter_context(
                tempfile.TemporaryDirectory(prefix="fast-serde-demo-", ignore_cleanup_errors=True)
            )
            db = Path(tmp) / DB_NAME
        messages = _first_run(args, db)
        resumed = _resume_in_fresh_process(args, db, messages)
        with _open_saver(db) as saver:
            stored = stored_checkpoints(saver, args.thread)
    if not args.quiet:
        print(f"comparing serializers on {len(stored)} checkpoints ...", file=sys.stderr)
    groups, same, stored_line = compare(stored)

    print()
    print(
        f"FastSerializer vs JsonPlusSerializer on the checkpoints of thread {args.thread!r} "
        f"(microseconds per checkpoint, median of {TIMING_ROUNDS} alternating rounds)"
    )
    print(format_table(TABLE_HEADER, [g.cells() for g in groups]))
    print(stored_line)
    if not same:
        print("FAILED: the serializers' bytes or read-back checkpoints differ", file=sys.stderr)
    return 0 if resumed and same else 1


if __name__ == "__main__":
    sys.exit(main())
