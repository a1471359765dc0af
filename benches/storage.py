"""Checkpoint storage with zstd, and what compression costs: ``make bench-storage``.

    python -m benches.storage                  # 150 turns, SQLite and PostgreSQL, writes docs
    python -m benches.storage --turns 20 --no-pg --no-write

1. **Store size.** A real agent thread (examples/agent_sqlite/scripted_agent.py: the demo's
   ReAct graph, a scripted chat model and two tools, four messages a turn) runs ``--turns``
   turns on ``SqliteSaver`` and on ``PostgresSaver`` (a throwaway server from
   python/tests/support/pg_server.py, or ``$FAST_SERDE_PG_DSN``), in four combinations: the
   ``messages`` channel with ``add_messages`` or as a ``DeltaChannel``
   (``_messages_delta_reducer``, langgraph-checkpoint 4.1+), each with ``FastSerializer()`` and
   with ``FastSerializer(compression="zstd")``. The store's size: SQLite, the file once closed;
   PostgreSQL, ``pg_total_relation_size`` of the three tables (TOAST included: PostgreSQL
   compresses large values itself with pglz) and the bytes of the stored values
   (``octet_length``). Then every store is read back by a new saver with a plain
   ``FastSerializer()`` (so no reader needs compression turned on) and the final state must be
   the same conversation in every combination.
2. **Speed**, side by side in one process: A and B sampled alternately in a seeded shuffled
   order with the cyclic GC off during each sample, the same way for both sides
   (``benches.compare.timing``): ``FastSerializer(compression="zstd").dumps_typed`` against
   JsonPlusSerializer's ``dumps_typed``, and ``loads_typed`` of a compressed blob (memo off:
   cold) against JsonPlusSerializer's ``loads_typed``; and the cost of zstd itself per state
   size (compress at levels 1 and 3, decompress), against FastSerializer's own msgpack time.

Nothing is asserted here (the tests are in python/tests/); the figures are printed and, unless
``--no-write``, written between ``<!-- storage:begin -->`` and ``<!-- storage:end -->`` in
docs/benchmarks.md (the rest of that page is left as it is).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

REPO_ROOT = Path(__file__).resolve().parents[1]
for _p in (REPO_ROOT, REPO_ROOT / "examples" / "agent_sqlite", REPO_ROOT / "python" / "tests" / "support"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from langchain_core.messages import AnyMessage, HumanMessage  # noqa: E402
from langgraph.channels.delta import DeltaChannel  # noqa: E402
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer  # noqa: E402
from langgraph.checkpoint.sqlite import SqliteSaver  # noqa: E402
from langgraph.graph.message import _messages_delta_reducer  # noqa: E402
from tqdm import tqdm  # noqa: E402
from typing_extensions import TypedDict  # noqa: E402

from benches.compare.timing import Contender, time_pair  # noqa: E402
from benches.e2e import transcript  # noqa: E402
from fast_serde import _native  # noqa: E402
from fast_serde.langgraph import FastSerializer  # noqa: E402
from fixtures.states import SIZES, checkpoint  # noqa: E402
from scripted_agent import AgentState, build_graph, question  # noqa: E402

DOC = REPO_ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- storage:begin -->", "<!-- storage:end -->"
THREAD = "storage-bench"
MiB = 1024 * 1024


class DeltaState(TypedDict):
    """The demo's state with ``messages`` as a DeltaChannel: checkpoints store a sentinel, and
    the list is rebuilt from the writes (a full snapshot every 100 updates)."""

    messages: Annotated[list[AnyMessage], DeltaChannel(_messages_delta_reducer)]


CHANNELS: dict[str, type[Any]] = {"add_messages": AgentState, "DeltaChannel": DeltaState}
SERDES: dict[str, Callable[[], FastSerializer]] = {
    "FastSerializer()": FastSerializer,
    'compression="zstd"': lambda: FastSerializer(compression="zstd"),
}


@dataclass
class StoreResult:
    saver: str
    channel: str
    serde: str
    seconds: float  # the run's wall time
    disk: int  # bytes the store takes (SQLite file; PostgreSQL relations with TOAST)
    values: int  # bytes of the stored values (checkpoints, blobs, writes)
    checkpoints: int
    largest: int  # the largest stored value, bytes
    conversation: list[tuple[Any, ...]]
    messages: int


# --- stores ----------------------------------------------------------------------------------


class SqliteStore:
    name = "SqliteSaver"

    def __init__(self, root: Path) -> None:
        self.root = root

    @contextmanager
    def saver(self, key: str, serde: Any) -> Iterator[Any]:
        conn = sqlite3.connect(self.root / f"{key}.sqlite", check_same_thread=False)
        try:
            yield SqliteSaver(conn, serde=serde)
        finally:
            conn.close()

    def measure(self, key: str) -> tuple[int, int, int, int]:
        path = self.root / f"{key}.sqlite"
        with sqlite3.connect(path) as conn:
            values, largest = conn.execute(
                "SELECT SUM(n), MAX(n) FROM (SELECT LENGTH(checkpoint) AS n FROM checkpoints "
                "UNION ALL SELECT LENGTH(value) FROM writes)").fetchone()
            count = conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0]
        conn.close()
        return path.stat().st_size, int(values), int(count), int(largest)


class PostgresStore:
    name = "PostgresSaver"

    def __init__(self, server: Any) -> None:
        self.server = server
        self.dsns: dict[str, str] = {}

    @contextmanager
    def saver(self, key: str, serde: Any) -> Iterator[Any]:
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row

        if key not in self.dsns:
            self.dsns[key] = self.server.create_database("storage")
        with psycopg.connect(self.dsns[key], autocommit=True, prepare_threshold=0,
                             row_factory=dict_row) as conn:
            saver = PostgresSaver(conn, serde=serde)
            saver.setup()
            yield saver

    def measure(self, key: str) -> tuple[int, int, int, int]:
        import psycopg

        with psycopg.connect(self.dsns[key], autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            disk = conn.execute(
                "SELECT pg_total_relation_size('checkpoints') + pg_total_relation_size("
                "'checkpoint_blobs') + pg_total_relation_size('checkpoint_writes')").fetchone()[0]
            values, largest = conn.execute(
                "SELECT SUM(n), MAX(n) FROM (SELECT octet_length(checkpoint::text) AS n "
                "FROM checkpoints UNION ALL SELECT octet_length(blob) FROM checkpoint_blobs "
                "UNION ALL SELECT octet_length(blob) FROM checkpoint_writes) AS t").fetchone()
            count = conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0]
        return int(disk), int(values or 0), int(count), int(largest or 0)


def run_thread(store: Any, channel: str, serde_name: str, turns: int) -> StoreResult:
    key = f"{channel}_{'zstd' if 'zstd' in serde_name else 'plain'}".lower()
    config = {"configurable": {"thread_id": THREAD}}
    start = time.perf_counter()
    with store.saver(key, SERDES[serde_name]()) as saver:
        graph = build_graph(saver, CHANNELS[channel])
        for turn in range(turns):
            graph.invoke({"messages": [HumanMessage(question(turn))]}, config)
    seconds = time.perf_counter() - start
    disk, values, count, largest = store.measure(key)
    # Read back by a new saver whose serializer does not compress.
    with store.saver(key, FastSerializer()) as saver:
        messages = build_graph(saver, CHANNELS[channel]).get_state(config).values["messages"]
    return StoreResult(store.name, channel, serde_name, seconds, disk, values, count, largest,
                       transcript(messages), len(messages))


# --- speed -----------------------------------------------------------------------------------


def _no_bar() -> tqdm:
    return tqdm(disable=True)


@dataclass
class SpeedRow:
    size: str
    msgpack: int
    frame: int
    fast_dumps: float
    zstd_dumps: float
    jsonplus_dumps: float
    zstd_loads: float
    jsonplus_loads: float
    fast_loads: float
    compress1: float
    compress3: float
    decompress: float


AGENT = "agent 200k"
"""A real agent state: the demo agent's latest checkpoint once its MessagePack reaches 200 KB."""


def agent_checkpoint(target: int = 200_000) -> dict[str, Any]:
    """The scripted agent's latest checkpoint once it is ``target`` bytes of MessagePack or more
    (about 125 turns)."""
    from langgraph.checkpoint.memory import InMemorySaver

    saver = InMemorySaver(serde=FastSerializer())
    graph = build_graph(saver)
    config = {"configurable": {"thread_id": THREAD}}
    for turn in range(1000):
        graph.invoke({"messages": [HumanMessage(question(turn))]}, config)
        found = saver.get_tuple(config)
        assert found is not None
        if len(FastSerializer().dumps_typed(found.checkpoint)[1]) >= target:
            return found.checkpoint
    raise RuntimeError("the agent state never reached the target size")


def measure_speed(size: str, rounds: int) -> SpeedRow:
    value = agent_checkpoint() if size == AGENT else checkpoint(size)
    fast, ref = FastSerializer(), JsonPlusSerializer()
    zstd, cold = FastSerializer(compression="zstd"), FastSerializer(memo_bytes=0)
    plain = ref.dumps_typed(value)
    packed = zstd.dumps_typed(value)
    assert fast.dumps_typed(value) == plain, "FastSerializer must write JsonPlusSerializer's bytes"
    assert packed[0] == "msgpack-zstd" and _native.zstd_decompress(packed[1]) == plain[1]
    assert cold.loads_typed(packed) == ref.loads_typed(plain)
    doc = plain[1]

    def pair(a: Contender, b: Contender) -> tuple[float, float]:
        for c in (a, b):
            c.calibrate(0.02)
        b.number = a.number = max(a.number, b.number)
        return time_pair(f"{a.name}|{b.name}", size, a, b, rounds, _no_bar())

    zstd_dumps, jsonplus_dumps = pair(
        Contender("zstd.dumps_typed", lambda: zstd.dumps_typed(value)),
        Contender("jsonplus.dumps_typed", lambda: ref.dumps_typed(value)))
    fast_dumps, _ = pair(
        Contender("fast.dumps_typed", lambda: fast.dumps_typed(value)),
        Contender("zstd.dumps_typed", lambda: zstd.dumps_typed(value)))
    zstd_loads, jsonplus_loads = pair(
        Contender("cold.loads_typed(zstd)", lambda: cold.loads_typed(packed)),
        Contender("jsonplus.loads_typed", lambda: ref.loads_typed(plain)))
    fast_loads, _ = pair(
        Contender("cold.loads_typed", lambda: cold.loads_typed(plain)),
        Contender("cold.loads_typed(zstd)", lambda: cold.loads_typed(packed)))
    compress1, compress3 = pair(
        Contender("zstd-1", lambda: _native.zstd_compress(doc, 1)),
        Contender("zstd-3", lambda: _native.zstd_compress(doc, 3)))
    decompress, _ = pair(
        Contender("unzstd", lambda: _native.zstd_decompress(packed[1])),
        Contender("zstd-3", lambda: _native.zstd_compress(doc, 3)))
    return SpeedRow(size, len(doc), len(packed[1]), fast_dumps, zstd_dumps, jsonplus_dumps,
                    zstd_loads, jsonplus_loads, fast_loads, compress1, compress3, decompress)


# --- report ----------------------------------------------------------------------------------


def _mib(n: float) -> str:
    return f"{n / MiB:.1f} MiB"


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs" if seconds < 0.01 else f"{seconds * 1e3:,.1f} ms"


def report(stores: Sequence[StoreResult], speeds: Sequence[SpeedRow], turns: int,
           same: bool) -> str:
    lines = [
        BEGIN,
        "## Storage: zstd compression (`make bench-storage`)",
        "",
        f"Written by `python -m benches.storage` on {platform.python_implementation()} "
        f"{platform.python_version()}, libzstd {_native.ZSTD_VERSION}, {os.cpu_count()} CPUs "
        f"({time.strftime('%Y-%m-%d', time.gmtime())}). One real agent thread of {turns} turns "
        "(the demo's ReAct graph: four messages a turn) per combination; see the script's "
        "docstring for what is measured.",
        "",
        "| saver | messages channel | serializer | store | ratio | stored values | largest value "
        "| checkpoints | run |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    base = {(r.saver, r.channel): r for r in stores if "zstd" not in r.serde}
    first = {r.saver: r for r in stores if r.channel == "add_messages" and "zstd" not in r.serde}
    for r in stores:
        ref = first[r.saver]
        lines.append(
            f"| {r.saver} | {r.channel} | `{r.serde}` | {_mib(r.disk)} | "
            f"{ref.disk / r.disk:.1f}x | {_mib(r.values)} | {r.largest / 1024:,.0f} KiB | "
            f"{r.checkpoints} | {r.seconds:.0f} s |"
        )
    lines += [
        "",
        "ratio: the store's size against `FastSerializer()` with `add_messages` on the same saver "
        "(JsonPlusSerializer writes the same bytes). "
        + "; ".join(
            f"zstd alone on {r.saver} with {r.channel}: {base[(r.saver, r.channel)].disk / r.disk:.1f}x"
            for r in stores if "zstd" in r.serde
        )
        + ". PostgreSQL's own TOAST compression (pglz) already shrinks large values in the "
        "uncompressed rows; \"stored values\" counts their bytes before TOAST.",
        "",
        f"Read back: every store, read by a new saver with a plain `FastSerializer()`, gives "
        f"{'the same' if same else 'NOT the same'} final conversation "
        f"({stores[0].messages} messages) in all {len(stores)} combinations.",
        "",
        "Speed, side by side in one process (A/B alternating, cyclic GC off during each sample "
        "for both sides), the checkpoint of `fixtures.states.checkpoint(size)` (synthetic "
        f"messages of random words: the least compressible), and ({AGENT}) the demo agent's "
        "checkpoint once it reaches 200 KB of MessagePack:",
        "",
        "| state | msgpack | frame (level 1) | `dumps_typed` zstd vs JsonPlus | `loads_typed` zstd "
        "(cold) vs JsonPlus | zstd-1 | zstd-3 | unzstd | zstd-1 share of `dumps_typed` |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in speeds:
        lines.append(
            f"| {s.size} | {s.msgpack / 1024:,.0f} KiB | {s.frame / 1024:,.1f} KiB "
            f"({s.msgpack / s.frame:.1f}x) | {s.jsonplus_dumps / s.zstd_dumps:.1f}x "
            f"({_us(s.zstd_dumps)} vs {_us(s.jsonplus_dumps)}) | "
            f"{s.jsonplus_loads / s.zstd_loads:.2f}x ({_us(s.zstd_loads)} vs "
            f"{_us(s.jsonplus_loads)}) | {_us(s.compress1)} | {_us(s.compress3)} | "
            f"{_us(s.decompress)} | {100 * s.compress1 / s.zstd_dumps:.0f}% |"
        )
    lines += [
        "",
        "zstd-1 / zstd-3: `fast_serde._native.zstd_compress` of the MessagePack at that level; "
        "unzstd: `zstd_decompress` (header checks included). `loads_typed` cold: "
        "`FastSerializer(memo_bytes=0)`, so no message is rebuilt from the memo; the zstd side "
        "decompresses then reads. Uncompressed, FastSerializer's cold `loads_typed` is "
        + ", ".join(f"{s.jsonplus_loads / s.fast_loads:.2f}x ({s.size})" for s in speeds)
        + " JsonPlusSerializer's; its `dumps_typed` "
        + ", ".join(f"{s.jsonplus_dumps / s.fast_dumps:.1f}x ({s.size})" for s in speeds) + ".",
        END,
    ]
    return "\n".join(lines) + "\n"


def write_doc(section: str) -> None:
    text = DOC.read_text()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + section.rstrip("\n") + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOC.write_text(text)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--turns", type=int, default=150, help="agent turns per thread (default 150)")
    ap.add_argument("--rounds", type=int, default=15, help="A/B rounds per timed pair (default 15)")
    ap.add_argument("--sizes", default=f"5k,30k,200k,{AGENT},2m",
                    help=f"state sizes to time: fixtures.states sizes and {AGENT!r}")
    ap.add_argument("--no-pg", action="store_true", help="skip PostgresSaver")
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md")
    args = ap.parse_args(argv)
    sizes = [s for s in args.sizes.split(",") if s]
    for s in sizes:
        if s not in SIZES and s != AGENT:
            ap.error(f"unknown size {s!r}; expected some of {SIZES}")

    results: list[StoreResult] = []
    with tempfile.TemporaryDirectory(prefix="fast-serde-storage-") as tmp:
        stores: list[Any] = [SqliteStore(Path(tmp))]
        server = None
        if not args.no_pg:
            from pg_server import DSN_ENV, connect_server, start_server

            server = connect_server(os.environ[DSN_ENV]) if os.environ.get(DSN_ENV) else start_server()
            stores.append(PostgresStore(server))
        try:
            for store in stores:
                for channel in CHANNELS:
                    for serde_name in SERDES:
                        r = run_thread(store, channel, serde_name, args.turns)
                        results.append(r)
                        print(f"{r.saver:14} {r.channel:13} {r.serde:20} store {_mib(r.disk):>10}  "
                              f"values {_mib(r.values):>10}  largest {r.largest / 1024:8,.0f} KiB  "
                              f"{r.checkpoints} checkpoints, {r.seconds:.0f} s", flush=True)
        finally:
            if server is not None:
                server.stop()
    same = all(r.conversation == results[0].conversation for r in results)
    print(f"final state read back the same in every combination: {same}")

    speeds = []
    gc.collect()
    for size in sizes:
        s = measure_speed(size, args.rounds if size != "2m" else max(3, args.rounds // 3))
        speeds.append(s)
        print(f"{size:>5}: dumps_typed zstd {s.jsonplus_dumps / s.zstd_dumps:.1f}x JsonPlus, "
              f"loads_typed zstd cold {s.jsonplus_loads / s.zstd_loads:.2f}x JsonPlus; "
              f"zstd-1 {_us(s.compress1)}, zstd-3 {_us(s.compress3)}, unzstd {_us(s.decompress)} "
              f"for {s.msgpack / 1024:,.0f} KiB -> {s.frame / 1024:,.1f} KiB", flush=True)
    section = report(results, speeds, args.turns, same)
    print(section)
    if not args.no_write:
        write_doc(section)
        print(f"wrote the storage section of {DOC.relative_to(REPO_ROOT)}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
