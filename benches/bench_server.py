"""LangGraph Server with and without fast-serde: `make bench-server` (a benchmark, not a test).

Two `langgraph dev` servers run side by side on 127.0.0.1, each in its own copy of
`fixtures/server_app` (the agent graph of the server test: `add_messages`, a scripted model that
calls a tool, a `ToolNode`): the stock one, and one started with `FAST_SERDE_INSTALL=1`. Driven
through `langgraph-sdk` (`runs.wait`), alternating between the two so that both see the same
machine load:

* long thread: one thread per server grown to ``--turns`` (60) turns, 4 messages a turn; the
  turns alternate stock, fast, stock, fast, ...; each run's latency is recorded;
* batch: ``--threads`` (32) new threads at once, ``--batch-turns`` (8) turns each, run on one
  server then the other, ``--reps`` (2) times; runs/s is the runs divided by the batch's wall
  time.

Serialization share: the app's `/fast-serde/timing` route wraps `dumps_typed`/`loads_typed` of
the class the server's checkpointer runs (the same wrapper in both servers) and reports the CPU
seconds spent inside them (`time.thread_time_ns()` of the calling thread, so waits for the GIL do
not count) and the server process's CPU seconds (`time.process_time()`) since the workload
started.

State and history reads: on each server's long thread, `threads.get_state` and
`threads.get_history` (``--history-limit`` checkpoints), ``--reads`` times each, alternating
between the servers; the server decodes them with `_msgpack_ext_hook_to_json` (the in-memory
runtime's `_delta_aware_hook` around it), which fast-serde reads natively.

In process (``--hook-only`` runs this part alone): `loads_typed` of an agent state
(fixtures/states.py, 5k/30k/200k) with `__unpack_ext_hook__=_msgpack_ext_hook_to_json`,
FastSerializer against JsonPlusSerializer, checked equal first, then sampled alternately in a
seeded shuffled order with the cyclic GC off during every sample of both
(benches/compare/timing.py); the ratio is JsonPlus / Fast.

Writes the table between `<!-- bench-server:begin -->` and `<!-- bench-server:end -->` in
docs/benchmarks.md (kept there by `make bench`), and prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fixtures.langgraph_server import Server, http_json, make_app  # noqa: E402
from langgraph_sdk import get_client  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END_MARK = "<!-- bench-server:begin -->", "<!-- bench-server:end -->"
RUN_TIMEOUT = 120.0


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def _run(client, thread_id: str, turn: int) -> float:
    question = {"role": "user", "content": f"question number {turn}", "id": f"h-{turn}"}
    start = time.perf_counter()
    await asyncio.wait_for(
        client.runs.wait(thread_id, "agent", input={"messages": [question]}), RUN_TIMEOUT
    )
    return time.perf_counter() - start


class Side:
    """One server and what was measured on it."""

    def __init__(self, name: str, server: Server) -> None:
        self.name = name
        self.server = server
        self.client = get_client(url=server.url)
        self.long_latencies: list[float] = []
        self.long_wall = 0.0
        self.batch_latencies: list[float] = []
        self.batch_runs = 0
        self.batch_wall = 0.0
        self.timing: dict[str, dict[str, float]] = {}
        self.long_thread = ""
        self.reads: dict[str, list[float]] = {"state": [], "history": []}

    def start_timing(self) -> None:
        http_json(f"{self.server.url}/fast-serde/timing", method="POST")

    def read_timing(self) -> dict[str, float]:
        return http_json(f"{self.server.url}/fast-serde/timing")


def _add(total: dict[str, float], part: dict[str, float]) -> None:
    for key, value in part.items():
        total[key] = total.get(key, 0.0) + value


async def _long_thread(sides: list[Side], turns: int) -> None:
    threads = {}
    for side in sides:
        threads[side.name] = side.long_thread = (await side.client.threads.create())["thread_id"]
        side.timing["long"] = {}
    for turn in range(turns):
        for side in sides if turn % 2 == 0 else reversed(sides):
            side.start_timing()
            latency = await _run(side.client, threads[side.name], turn)
            _add(side.timing["long"], side.read_timing())
            side.long_latencies.append(latency)
            side.long_wall += latency


async def _batch(side: Side, threads: int, turns: int) -> None:
    ids = [(await side.client.threads.create())["thread_id"] for _ in range(threads)]

    async def one(thread_id: str) -> None:
        for turn in range(turns):
            side.batch_latencies.append(await _run(side.client, thread_id, turn))

    side.start_timing()
    start = time.perf_counter()
    await asyncio.gather(*(one(t) for t in ids))
    side.batch_wall += time.perf_counter() - start
    side.batch_runs += threads * turns
    _add(side.timing.setdefault("batch", {}), side.read_timing())


async def _reads(sides: list[Side], reads: int, limit: int) -> None:
    for i in range(reads):
        for side in sides if i % 2 == 0 else reversed(sides):
            thread = side.long_thread
            start = time.perf_counter()
            await side.client.threads.get_state(thread)
            side.reads["state"].append(time.perf_counter() - start)
            start = time.perf_counter()
            await side.client.threads.get_history(thread, limit=limit)
            side.reads["history"].append(time.perf_counter() - start)


async def _bench(sides: list[Side], args: argparse.Namespace) -> None:
    # Warm-up (imports, first graph build, per-class plans): untimed.
    for side in sides:
        thread = (await side.client.threads.create())["thread_id"]
        for turn in range(2):
            await _run(side.client, thread, turn)
    await _long_thread(sides, args.turns)
    await _reads(sides, args.reads, args.history_limit)
    for rep in range(args.reps):
        for side in sides if rep % 2 == 0 else reversed(sides):
            await _batch(side, args.threads, args.batch_turns)


def _share(timing: dict[str, float]) -> str:
    serde = timing.get("dumps_seconds", 0.0) + timing.get("loads_seconds", 0.0)
    cpu = timing.get("cpu_seconds", 0.0)
    if cpu <= 0:
        return "n/a"
    return f"{100 * serde / cpu:.1f}% ({serde:.2f} of {cpu:.2f} s)"


def table(sides: list[Side], args: argparse.Namespace) -> str:
    stock, fast = sides
    rows = [
        "| workload | figure | stock server | FAST_SERDE_INSTALL=1 | gain |",
        "|---|---|---:|---:|---:|",
    ]

    def row(workload: str, figure: str, a: float, b: float, fmt: str) -> None:
        # gain > 1: fast-serde better (more runs/s, or fewer ms).
        higher_is_better = figure == "runs/s"
        num, den = (b, a) if higher_is_better else (a, b)
        r = f"{num / den:.2f}x" if den else ""
        rows.append(f"| {workload} | {figure} | {fmt.format(a)} | {fmt.format(b)} | {r} |")

    long_name = f"one thread, {args.turns} turns ({4 * args.turns} messages at the end)"
    row(long_name, "runs/s", args.turns / stock.long_wall, args.turns / fast.long_wall, "{:.2f}")
    for q, label in ((0.5, "p50"), (0.95, "p95")):
        row(long_name, f"{label} run latency (ms)", 1e3 * _percentile(stock.long_latencies, q),
            1e3 * _percentile(fast.long_latencies, q), "{:.0f}")
    _per_run_rows(row, long_name, stock.timing["long"], fast.timing["long"], args.turns,
                  args.turns)
    for key, figure in (("state", "get_state"), ("history", f"get_history (limit {args.history_limit})")):
        for q, label in ((0.5, "p50"), (0.95, "p95")):
            row(long_name, f"{figure} {label} latency (ms)", 1e3 * _percentile(stock.reads[key], q),
                1e3 * _percentile(fast.reads[key], q), "{:.1f}")
    rows.append(f"| {long_name} | serialization share of server CPU | "
                f"{_share(stock.timing['long'])} | {_share(fast.timing['long'])} | |")
    batch_name = (f"{args.threads} threads at once x {args.batch_turns} turns, "
                  f"{args.reps} reps")
    row(batch_name, "runs/s", stock.batch_runs / stock.batch_wall,
        fast.batch_runs / fast.batch_wall, "{:.2f}")
    for q, label in ((0.5, "p50"), (0.95, "p95")):
        row(batch_name, f"{label} run latency (ms)", 1e3 * _percentile(stock.batch_latencies, q),
            1e3 * _percentile(fast.batch_latencies, q), "{:.0f}")
    _per_run_rows(row, batch_name, stock.timing["batch"], fast.timing["batch"],
                  stock.batch_runs, fast.batch_runs)
    rows.append(f"| {batch_name} | serialization share of server CPU | "
                f"{_share(stock.timing['batch'])} | {_share(fast.timing['batch'])} | |")
    return "\n".join(rows) + "\n"


def _per_run_rows(row, workload: str, stock: dict[str, float], fast: dict[str, float],
                  stock_runs: int, fast_runs: int) -> None:
    for key, figure in (("cpu_seconds", "server CPU ms per run"),
                        ("dumps_seconds", "dumps_typed ms per run"),
                        ("loads_seconds", "loads_typed ms per run")):
        row(workload, figure, 1e3 * stock[key] / stock_runs, 1e3 * fast[key] / fast_runs,
            "{:.2f}")


def hook_ratios(sizes: Sequence[str], rounds: int) -> str:
    """The in-process table: loads_typed with _msgpack_ext_hook_to_json, JsonPlus / Fast."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer, _msgpack_ext_hook_to_json
    from tqdm import tqdm

    from benches.compare.timing import Contender, time_pair
    from fast_serde.langgraph import FastSerializer
    from fixtures.states import agent_state

    parent = JsonPlusSerializer(__unpack_ext_hook__=_msgpack_ext_hook_to_json)
    fast = FastSerializer(__unpack_ext_hook__=_msgpack_ext_hook_to_json)
    rows = ["| state | bytes | JsonPlus (us) | Fast (us) | JsonPlus / Fast |", "|---|---:|---:|---:|---:|"]
    bar = tqdm(disable=True)
    for size in sizes:
        data = parent.dumps_typed(agent_state(size))
        if repr(fast.loads_typed(data)) != repr(parent.loads_typed(data)):
            raise SystemExit(f"{size}: FastSerializer reads differently from JsonPlusSerializer")
        a = Contender("parent", lambda data=data: parent.loads_typed(data))
        b = Contender("fast", lambda data=data: fast.loads_typed(data))
        for c in (a, b):
            c.calibrate(0.02)
        ta, tb = time_pair("json hook", size, a, b, rounds, bar)
        rows.append(f"| {size} | {len(data[1])} | {ta * 1e6:.1f} | {tb * 1e6:.1f} | {ta / tb:.2f}x |")
    return "\n".join(rows) + "\n"


def write_doc(text: str, args: argparse.Namespace, counters: dict) -> None:
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    block = "\n".join([
        BEGIN,
        "## LangGraph Server (`make bench-server`)",
        "",
        f"`langgraph dev` (langgraph-api 0.16.7, in-memory runtime 0.36.7, "
        f"`--n-jobs-per-worker {args.n_jobs}`), stock against `FAST_SERDE_INSTALL=1`, the two "
        "servers side by side and driven alternately through `langgraph-sdk` `runs.wait` "
        "(benches/bench_server.py). Machine: "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {load[0]:.2f} at the end.",
        "",
        text,
        "- *dumps_typed/loads_typed ms per run*: CPU time inside the checkpointer's "
        "`dumps_typed`/`loads_typed` (`time.thread_time_ns()` of the calling thread; the same "
        "timing wrapper in both servers); *server CPU*: the server "
        "process's CPU time over the workload (`time.process_time()`), all its threads; the "
        "share is the first over the second.",
        "- *gain*: how many times better the fast server's figure is (runs/s: fast/stock; "
        "times: stock/fast).",
        "- Run latency is dominated by the in-memory runtime's queue, which polls for new runs "
        "every 0.5 s when idle (`langgraph_runtime_inmem.ops.Runs.next`), so runs/s and "
        "latency move with the polling phase by more than serialization changes them (repeated "
        "sessions differed by up to 20% either way); serialization shows in the server's CPU "
        "time.",
        f"- fast-serde's own counters in the fast server at the end: `{counters}`.",
        END_MARK,
    ])
    current = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if BEGIN in current and END_MARK in current:
        current = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END_MARK), lambda _: block,
                         current, count=1, flags=re.S)
    else:
        current = current.rstrip("\n") + "\n\n" + block + "\n"
    DOC.write_text(current)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=60)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--batch-turns", type=int, default=8)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--n-jobs", type=int, default=32)
    parser.add_argument("--reads", type=int, default=20)
    parser.add_argument("--history-limit", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=30, help="in-process samples per side")
    parser.add_argument("--hook-only", action="store_true", help="the in-process table only")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    hooks = hook_ratios(("5k", "30k", "200k"), args.rounds)
    print(hooks)
    if args.hook_only:
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        servers = [Server(make_app(Path(tmp) / name), fast=(name == "fast"), n_jobs=args.n_jobs)
                   for name in ("stock", "fast")]
        try:
            for server in servers:
                server.start()
            sides = [Side("stock", servers[0]), Side("fast", servers[1])]
            assert servers[0].stats()["serde"] == "langgraph_api.serde.Serializer"
            assert servers[1].stats()["serde"] == "fast_serde.langgraph._server.Serializer"
            asyncio.run(_bench(sides, args))
            counters = servers[1].stats()["stats"]
        finally:
            for server in servers:
                server.stop()
    text = table(sides, args) + "\nIn process, `loads_typed` with `_msgpack_ext_hook_to_json`:\n\n" + hooks
    print(text)
    print("fast-serde counters in the fast server:", counters)
    if not args.no_write:
        write_doc(text, args, counters)
        print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
