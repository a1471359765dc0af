"""``python -m fast_serde demo``: FastSerializer under a real LangGraph agent.

What it does, end to end, with no network:

1. Builds a ReAct-style ``StateGraph`` (``messages: Annotated[list, add_messages]``):
   an ``agent`` node driven by :class:`ScriptedChatModel` (a deterministic
   langchain-core chat model that calls a tool on every question, then answers
   from the tool's result), a ``langgraph.prebuilt.ToolNode`` with
   :func:`calculator` and :func:`lookup_docs`, routed by ``tools_condition``.
2. Compiles it with ``SqliteSaver(serde=FastSerializer())`` on a SQLite file
   and runs ``--turns`` human turns on one thread.
3. Resumes in a fresh process (``python -m fast_serde demo --resume ...``):
   reopens the file, checks that ``graph.get_state`` returns every message of
   step 2, and runs :data:`RESUME_TURNS` more turns.
4. Reads every checkpoint of the thread back (``saver.list`` plus the raw
   blobs) and prints a table comparing ``FastSerializer`` with LangGraph's
   ``JsonPlusSerializer``: time per checkpoint of ``dumps_typed`` and
   ``loads_typed`` (measured alternately in this process, median of
   :data:`TIMING_ROUNDS` rounds), bytes, and whether both write identical
   bytes and read back equal checkpoints.

Timings are printed, never asserted. The exit status is 0 only if the bytes
are identical, the read-back checkpoints are equal and the resume succeeded.

Requires ``langgraph``, ``langgraph-checkpoint-sqlite`` and ``tqdm`` besides
fast-serde's ``langgraph`` extra.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import operator
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import timeit
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

try:  # the demo extra: pip install 'fast-serde[langgraph,demo]'
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.graph import START, StateGraph
    from langgraph.graph.message import add_messages
    from langgraph.graph.state import CompiledStateGraph
    from langgraph.prebuilt import ToolNode, tools_condition
    from tqdm import tqdm
except ImportError as exc:
    raise ImportError(
        f"fast_serde.demo needs the demo extra: pip install 'fast-serde[langgraph,demo]' ({exc})"
    ) from exc
from typing_extensions import TypedDict

from fast_serde.langgraph import FastSerializer

__all__ = [
    "AgentState",
    "ScriptedChatModel",
    "build_graph",
    "calculator",
    "lookup_docs",
    "main",
    "question",
]

DEFAULT_TURNS = 50
"""Human turns of the first run."""
RESUME_TURNS = 3
"""Human turns the resumed process adds."""
TIMING_ROUNDS = 5
"""Alternating timing rounds per serializer; the table shows their median."""
TABLE_GROUPS = 4
"""The checkpoints are reported in this many chronological groups plus a total."""
DEFAULT_THREAD = "demo"
DB_NAME = "demo.sqlite"

_SYSTEM_PROMPT = (
    "You are a support agent for an internal platform. Look facts up with "
    "lookup_docs and do arithmetic with calculator before you answer."
)

_OPERATORS: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}

# A tiny knowledge base for lookup_docs: topic -> (title, passages).
_DOCS: dict[str, tuple[str, tuple[str, ...]]] = {
    "checkpoints": (
        "Checkpointing agent threads",
        (
            "Every superstep of a graph writes a checkpoint: the channel values, "
            "their versions and the versions each node has seen.",
            "Checkpoints of one thread form a chain through parent ids, so a "
            "thread can be resumed, replayed or forked from any of them.",
        ),
    ),
    "retention": (
        "Retention of old checkpoints",
        (
            "Threads idle for 30 days are archived; their checkpoints move to cold "
            "storage and are restored on the next request to the thread.",
            "Deleting a thread removes its checkpoints and pending writes at once.",
        ),
    ),
    "rate limits": (
        "Gateway rate limits",
        (
            "Each API key may send 600 requests per minute with bursts of 50; "
            "excess requests get HTTP 429 with a Retry-After header.",
            "Batch endpoints count one request per item in the batch.",
        ),
    ),
    "failover": (
        "Database failover runbook",
        (
            "On primary loss the replica with the smallest replication lag is "
            "promoted; writes pause for 10 to 30 seconds during promotion.",
            "Clients must retry idempotent writes after a failover.",
        ),
    ),
    "deploys": (
        "Deploy windows",
        (
            "Deploys run Monday to Thursday between 09:00 and 16:00 UTC behind a "
            "canary that takes 5 % of traffic for 20 minutes.",
            "A failed canary rolls back automatically and pages the owner.",
        ),
    ),
    "tracing": (
        "Request tracing",
        (
            "One request in a hundred is traced end to end; errors are always "
            "traced. Traces are kept for 14 days.",
            "Add the x-trace header to force tracing of a single request.",
        ),
    ),
}

_ARITHMETIC = re.compile(r"What is (-?\d+(?:\.\d+)?) ([-+*/]) (-?\d+(?:\.\d+)?)\?")
_LOOKUP = re.compile(r"about (.+?)\?")


# --- the agent ---------------------------------------------------------------


@tool
def calculator(a: float, op: Literal["+", "-", "*", "/"], b: float) -> str:
    """Compute ``a op b`` for one of the operators + - * /; returns the result as text."""
    try:
        return repr(_OPERATORS[op](a, b))
    except ZeroDivisionError:
        return "error: division by zero"


@tool
def lookup_docs(topic: str) -> str:
    """Look a topic up in the internal documentation; returns a few hundred bytes of text."""
    key = topic.lower().strip()
    if key not in _DOCS:
        return f"No documents match {topic!r}. Known topics: {', '.join(_DOCS)}."
    title, passages = _DOCS[key]
    slug = key.replace(" ", "-")
    lines = [f"{title} (https://docs.example.com/{slug})"]
    lines += [f"[{i}] {passage}" for i, passage in enumerate(passages, 1)]
    return "\n".join(lines)


TOOLS = (calculator, lookup_docs)


class ScriptedChatModel(BaseChatModel):
    """A deterministic tool-calling chat model for demos and tests (no network).

    Reading only the last message: a ``HumanMessage`` of the form
    ``"What is <a> <op> <b>?"`` gets an ``AIMessage`` calling ``calculator``;
    any other question gets one calling ``lookup_docs`` with the text after
    ``"about "``; a ``ToolMessage`` gets a final ``AIMessage`` answer quoting
    the tool's result. Every ``AIMessage`` carries ``usage_metadata`` and
    ``response_metadata`` (token counts estimated as characters / 4).

    Use ``bind_tools`` like with a real model; the model only calls tools
    that were bound. Raises ``ValueError`` from ``invoke`` if the needed tool
    is not bound.
    """

    model_name: str = "scripted-react-1"

    @property
    def _llm_type(self) -> str:
        return "scripted-react"

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (anything ``convert_to_openai_tool`` accepts); returns a Runnable."""
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        bound = {spec["function"]["name"] for spec in kwargs.get("tools", ())}
        last = messages[-1]
        if isinstance(last, ToolMessage):
            content = _answer(last)
            tool_calls: list[dict[str, Any]] = []
        else:
            name, args = _plan_tool_call(str(last.content))
            if name not in bound:
                raise ValueError(f"tool {name!r} is not bound; bound tools: {sorted(bound)}")
            content = f"Calling {name}."
            tool_calls = [
                {"name": name, "args": args, "id": f"call_{len(messages):06d}", "type": "tool_call"}
            ]
        prompt_tokens = sum(len(str(m.content)) for m in messages) // 4
        completion_tokens = max(1, (len(content) + len(json.dumps(tool_calls))) // 4)
        finish_reason = "tool_calls" if tool_calls else "stop"
        message = AIMessage(
            content=content,
            tool_calls=tool_calls,
            usage_metadata={
                "input_tokens": prompt_tokens,
                "output_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
            response_metadata={
                "model_name": self.model_name,
                "finish_reason": finish_reason,
                "token_usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


def _plan_tool_call(text: str) -> tuple[str, dict[str, Any]]:
    if match := _ARITHMETIC.search(text):
        return "calculator", {"a": float(match[1]), "op": match[2], "b": float(match[3])}
    match = _LOOKUP.search(text)
    return "lookup_docs", {"topic": match[1] if match else text}


def _answer(result: ToolMessage) -> str:
    if result.name == "calculator":
        return f"The result is {result.content}."
    title, *passages = str(result.content).splitlines()
    return f"From {title}: {' '.join(passages)}"


def question(turn: int) -> str:
    """The human message of turn ``turn`` (0-based): deterministic, alternating
    between documentation lookups (even turns) and arithmetic (odd turns)."""
    rng = random.Random(turn)
    if turn % 2 == 0:
        return f"Can you tell me what the docs say about {rng.choice(list(_DOCS))}?"
    a, b = rng.randrange(2, 10_000), rng.randrange(1, 500)
    return f"What is {a} {rng.choice(list(_OPERATORS))} {b}?"


class AgentState(TypedDict):
    """The graph state: the conversation, merged by ``add_messages``."""

    messages: Annotated[list[AnyMessage], add_messages]


def build_graph(checkpointer: SqliteSaver) -> CompiledStateGraph:
    """Compile the demo agent (agent -> tools -> agent ..., ``tools_condition``
    routing) with ``checkpointer``."""
    model = ScriptedChatModel().bind_tools(TOOLS)

    def agent(state: AgentState) -> dict[str, list[AnyMessage]]:
        return {"messages": [model.invoke([SystemMessage(_SYSTEM_PROMPT), *state["messages"]])]}

    builder = StateGraph(AgentState)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode(TOOLS))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    return builder.compile(checkpointer=checkpointer)


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


# --- the two processes -------------------------------------------------------


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
            sys.executable, "-m", "fast_serde", "demo", "--resume",
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


# --- the comparison ----------------------------------------------------------


@dataclass
class _Stored:
    """One checkpoint as the demo's saver stored it."""

    messages: int
    blob: tuple[str, bytes]  # (type, bytes) as FastSerializer wrote it during the run


def _stored_checkpoints(db: Path, thread: str) -> list[_Stored]:
    """Oldest first: every checkpoint of ``thread``, listed by ``saver.list``,
    with the raw blob of the ``checkpoints`` table."""
    with _open_saver(db) as saver:
        tuples = list(saver.list(_thread_config(thread)))[::-1]
        with saver.cursor(transaction=False) as cur:
            cur.execute(
                "SELECT checkpoint_id, type, checkpoint FROM checkpoints WHERE thread_id = ?",
                (thread,),
            )
            blobs = {cid: (type_, bytes(blob)) for cid, type_, blob in cur}
    return [
        _Stored(
            messages=len(t.checkpoint["channel_values"].get("messages", [])),
            blob=blobs[t.config["configurable"]["checkpoint_id"]],
        )
        for t in tuples
    ]


def _median_seconds_per_item(
    serializers: Sequence[Any], op: Callable[[Any, Any], Any], items: Sequence[Any]
) -> tuple[float, ...]:
    """Seconds per item of ``op(serializer, item)`` over ``items`` for each
    serializer, timed alternately A, B, A, B, ... (GC off, via ``timeit``);
    returns the median over :data:`TIMING_ROUNDS` rounds, one per serializer."""
    rounds: list[list[float]] = [[] for _ in serializers]
    for _ in range(TIMING_ROUNDS):
        for times, serde in zip(rounds, serializers):
            timer = timeit.Timer(lambda: [op(serde, item) for item in items])
            times.append(timer.timeit(number=1) / len(items))
    return tuple(statistics.median(times) for times in rounds)


def _chunks(n: int, k: int) -> list[range]:
    """Split ``range(n)`` into at most ``k`` consecutive, non-empty, near-equal ranges."""
    bounds = [round(i * n / k) for i in range(k + 1)]
    return [range(lo, hi) for lo, hi in zip(bounds, bounds[1:]) if hi > lo]


@dataclass
class _Group:
    """One table row: a run of consecutive checkpoints."""

    label: str
    messages: str  # message counts of its first and last checkpoint
    n: int
    nbytes: int
    dumps: tuple[float, ...]  # seconds per checkpoint: (FastSerializer, JsonPlusSerializer)
    loads: tuple[float, ...]
    same_bytes: int
    same_state: int

    def cells(self) -> list[str]:
        def us(seconds: float) -> str:
            return f"{seconds * 1e6:,.1f}"

        (dumps_fast, dumps_ref), (loads_fast, loads_ref) = self.dumps, self.loads
        return [
            self.label, self.messages, f"{self.nbytes:,}",
            us(dumps_fast), us(dumps_ref), f"{dumps_ref / dumps_fast:.2f}x",
            us(loads_fast), us(loads_ref), f"{loads_ref / loads_fast:.2f}x",
            f"{self.same_bytes}/{self.n}", f"{self.same_state}/{self.n}",
        ]


TABLE_HEADER = (
    "checkpoints", "messages", "bytes",
    "dumps fast", "dumps jsonplus", "speed-up",
    "loads fast", "loads jsonplus", "speed-up",
    "same bytes", "same state",
)
"""Column titles of the comparison table (times in microseconds per checkpoint)."""


def _compare(stored: list[_Stored]) -> tuple[list[_Group], bool, str]:
    """Check and time both serializers on ``stored`` (non-empty).

    Returns the table rows (:data:`TABLE_GROUPS` chronological groups, then
    the total), whether every checkpoint matched, and a line on the blobs
    stored during the runs.
    """
    fast, ref = FastSerializer(), JsonPlusSerializer()
    blobs = [s.blob for s in stored]
    loaded_fast = [fast.loads_typed(b) for b in blobs]
    loaded_ref = [ref.loads_typed(b) for b in blobs]
    same_state = [a == b for a, b in zip(loaded_fast, loaded_ref)]
    dumped_ref = [ref.dumps_typed(c) for c in loaded_ref]
    same_bytes = [fast.dumps_typed(c) == d for c, d in zip(loaded_ref, dumped_ref)]
    # The blobs FastSerializer wrote inside the graph runs vs JsonPlusSerializer's
    # encoding of what they read back as (byte-stable round trip for these states).
    stored_same = sum(blob == d for blob, d in zip(blobs, dumped_ref))
    stored_line = (
        "checkpoint blobs FastSerializer wrote during the runs, identical to "
        f"JsonPlusSerializer's bytes for them: {stored_same}/{len(blobs)}"
    )

    groups = []
    for chunk in _chunks(len(stored), TABLE_GROUPS):
        first, last = chunk[0], chunk[-1]
        groups.append(
            _Group(
                label=f"{first + 1}-{last + 1}",
                messages=f"{stored[first].messages}-{stored[last].messages}",
                n=len(chunk),
                nbytes=sum(len(blobs[i][1]) for i in chunk),
                dumps=_median_seconds_per_item(
                    (fast, ref), lambda s, obj: s.dumps_typed(obj), [loaded_ref[i] for i in chunk]
                ),
                loads=_median_seconds_per_item(
                    (fast, ref), lambda s, blob: s.loads_typed(blob), [blobs[i] for i in chunk]
                ),
                same_bytes=sum(same_bytes[i] for i in chunk),
                same_state=sum(same_state[i] for i in chunk),
            )
        )
    n = len(stored)

    def mean(times: Callable[[_Group], tuple[float, ...]]) -> tuple[float, ...]:
        return tuple(sum(times(g)[i] * g.n for g in groups) / n for i in (0, 1))

    groups.append(
        _Group(
            label=f"all {n}",
            messages=f"{stored[0].messages}-{stored[-1].messages}",
            n=n,
            nbytes=sum(g.nbytes for g in groups),
            dumps=mean(lambda g: g.dumps),
            loads=mean(lambda g: g.loads),
            same_bytes=sum(same_bytes),
            same_state=sum(same_state),
        )
    )
    ok = all(same_bytes) and all(same_state) and stored_same == n
    return groups, ok, stored_line


def _format_table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 2) -> str:
    """Plain-text table: the first ``left`` columns left-aligned, the rest right-aligned."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [
            cell.ljust(w) if i < left else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths))
        ]
        return "  ".join(cells).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


# --- entry point -------------------------------------------------------------


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fast-serde demo",
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
    """Run the demo; ``argv`` are the arguments after ``demo`` (default ``sys.argv[1:]``).

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
        stored = _stored_checkpoints(db, args.thread)
    if not args.quiet:
        print(f"comparing serializers on {len(stored)} checkpoints ...", file=sys.stderr)
    groups, same, stored_line = _compare(stored)

    print()
    print(
        f"FastSerializer vs JsonPlusSerializer on the checkpoints of thread {args.thread!r} "
        f"(microseconds per checkpoint, median of {TIMING_ROUNDS} alternating rounds)"
    )
    print(_format_table(TABLE_HEADER, [g.cells() for g in groups]))
    print(stored_line)
    if not same:
        print("FAILED: the serializers' bytes or read-back checkpoints differ", file=sys.stderr)
    return 0 if resumed and same else 1
