"""Loads with the memo of validated models, side by side with JsonPlusSerializer (issue 14).

``python benches/loads_memo.py [--turns 60] [--rounds 7]``; ``make bench-loads`` runs it.

Rows (each a ratio JsonPlusSerializer time / FastSerializer time, both measured in this process,
alternating A/B every round, the cyclic GC collected before and disabled during every timed
block on both sides):

* thread walk: a real agent thread (the demo graph: scripted tool-calling model + ToolNode) of
  ``--turns`` turns on ``InMemorySaver``; the ``messages`` channel blob of every checkpoint, as
  stored, loaded in order — the last 40. A fresh FastSerializer per round: its memo starts empty
  and fills as the walk goes, as a worker's would.
* history: ``get_state_history(limit=100)`` on that thread, a fresh FastSerializer per round.
* cold: a 200 KB state never seen (one long-lived serializer, a new state per load), memo on
  against memo off (the fill's cost on first sight), and against JsonPlusSerializer.
* second sight: each 200 KB state read once before by the same serializer: the memo keeps the
  bytes and builds its templates then (hits start on the third sight).
* warm: the same 200 KB state loaded again by one FastSerializer (memo hits).
* 125-turn graph: benches/e2e.py's whole run (the demo's agent graph on ``InMemorySaver``, 125
  ``invoke`` turns on one thread, 500 messages), a fresh serializer per run; the three sides'
  runs rotate (``trio``), the GC collected before every run and left enabled during it on every
  side, as in production; ``--e2e-reps`` runs per side.
Each row has a ``validate_models=False`` column (trusted restore), measured in the same rotation.
* memo memory: a 64 MiB memo filled with distinct states: what it charges and the RSS it holds
  (against the same loads with the memo off), as a multiple of the budget.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
# The demo's agent graph (examples/agent_sqlite/scripted_agent.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "agent_sqlite"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import states  # noqa: E402
from langchain_core.messages import HumanMessage  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer  # noqa: E402

from e2e import WARMUP_TURNS, run_agent  # noqa: E402  (benches/e2e.py)
from fast_serde.langgraph import FastSerializer  # noqa: E402
from scripted_agent import build_graph, question  # noqa: E402

THREAD = {"configurable": {"thread_id": "memo-bench"}}


def timed(fn: Callable[[], Any]) -> float:
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    finally:
        gc.enable()


def pair(a: Callable[[], Any], b: Callable[[], Any], rounds: int) -> tuple[float, float]:
    """Median seconds of `a` and `b`, alternating a, b, b, a, ... one untimed warm-up each."""
    ta, tb, _ = trio(a, b, None, rounds)
    return ta, tb


def trio(
    a: Callable[[], Any], b: Callable[[], Any], c: Callable[[], Any] | None, rounds: int
) -> tuple[float, float, float]:
    """Median seconds of `a`, `b` and `c` (0 without it), in a rotating order each round (a b c,
    b c a, c a b, ...), one untimed warm-up each."""
    fns = [f for f in (a, b, c) if f is not None]
    for f in fns:
        f()
    times: list[list[float]] = [[] for _ in fns]
    for r in range(rounds):
        for k in range(len(fns)):
            i = (r + k) % len(fns)
            times[i].append(timed(fns[i]))
    medians = [statistics.median(t) for t in times] + [0.0]
    return medians[0], medians[1], medians[2]


def agent_thread(turns: int) -> tuple[Any, InMemorySaver]:
    saver = InMemorySaver(serde=JsonPlusSerializer())
    graph = build_graph(saver)
    for t in range(turns):
        graph.invoke({"messages": [HumanMessage(content=question(t))]}, THREAD)
    return graph, saver


def message_blobs(saver: InMemorySaver) -> list[tuple[str, bytes]]:
    """The stored `messages` channel blobs of the thread, in version order."""
    found = [(k[3], v) for k, v in saver.blobs.items() if k[2] == "messages" and v[0] == "msgpack"]
    return [v for _, v in sorted(found, key=lambda kv: kv[0])]


def graph_runs(turns: int, reps: int) -> tuple[float, float, float]:
    """Median seconds of a whole `turns`-turn agent run (benches/e2e.py's run_agent) with
    JsonPlusSerializer, FastSerializer() and FastSerializer(validate_models=False), runs rotating
    as in `trio`, the GC collected before each run and enabled during it on every side."""
    sides = [JsonPlusSerializer, FastSerializer, lambda: FastSerializer(validate_models=False)]
    for make in sides:
        run_agent(make(), WARMUP_TURNS)
    times: list[list[float]] = [[] for _ in sides]
    for r in range(reps):
        for k in range(len(sides)):
            i = (r + k) % len(sides)
            gc.collect()
            times[i].append(run_agent(sides[i](), turns)[0])
    tj, tf, tt = (statistics.median(t) for t in times)
    return tj, tf, tt


def row(label: str, tj: float, tf: float, tt: float, target: str) -> str:
    trusted = f"{tt * 1e3:.2f} ms | {tj / tt:.2f}x" if tt else "- | -"
    return f"| {label} | {tj * 1e3:.2f} ms | {tf * 1e3:.2f} ms | {tj / tf:.2f}x | {trusted} | {target} |"


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def memo_memory(budget: int) -> str:
    """Fill a memo of `budget` bytes with distinct 200k-state messages (each loaded twice so a
    copy is kept) until it evicts; the RSS it holds (measured against the same loads with the
    memo off) and its own count, against the budget."""
    j = JsonPlusSerializer()
    held = {}
    charged = 0
    for b in (0, budget):
        f = FastSerializer(memo_bytes=b)
        gc.collect()
        before = rss()
        for k in range(400):
            data = j.dumps_typed(states.agent_state("200k", seed=10_000 + k))
            f.loads_typed(data), f.loads_typed(data)
        gc.collect()
        held[b] = rss() - before
        if b:
            charged = f.memo_stats()["bytes"]
        del f
    grown = held[budget] - held[0]
    return (
        f"memo at {budget >> 20} MiB after 400 distinct 200k states loaded twice: charged "
        f"{charged / 2**20:.1f} MiB, RSS held {grown / 2**20:.1f} MiB "
        f"({grown / budget:.2f}x the budget; target <= 2x)"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--turns", type=int, default=60)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--no-memory", action="store_true", help="skip the memo memory row")
    p.add_argument("--e2e-turns", type=int, default=125)
    p.add_argument("--e2e-reps", type=int, default=3, help="0 skips the 125-turn graph row")
    args = p.parse_args(argv)
    rows = [
        "| row | JsonPlusSerializer | FastSerializer() | ratio | validate_models=False | ratio | target |",
        "|---|---|---|---|---|---|---|",
    ]

    graph, saver = agent_thread(args.turns)
    blobs = message_blobs(saver)[-40:]
    j = JsonPlusSerializer()
    sizes = [len(b[1]) for b in blobs]
    last_f: list[FastSerializer] = []

    def walk(**kw: Any) -> Callable[[], None]:
        def run() -> None:
            f = FastSerializer(**kw)
            for b in blobs:
                f.loads_typed(b)
            last_f[:] = [f]

        return run

    tj, tf, tt = trio(lambda: [j.loads_typed(b) for b in blobs], walk(), walk(validate_models=False), args.rounds)
    label = f"thread walk: last 40 messages blobs of {args.turns} turns ({min(sizes) // 1000}-{max(sizes) // 1000} KB)"
    rows.append(row(label, tj, tf, tt, ">= 4x; trusted >= default"))
    stats = last_f[0].memo_stats()

    fast_saver = InMemorySaver(serde=FastSerializer())
    fast_saver.storage, fast_saver.writes, fast_saver.blobs = saver.storage, saver.writes, saver.blobs
    fast_graph = build_graph(fast_saver)

    def history(**kw: Any) -> Callable[[], None]:
        def run() -> None:
            fast_saver.serde = FastSerializer(**kw)
            list(fast_graph.get_state_history(THREAD, limit=100))

        return run

    tj, tf, tt = trio(
        lambda: list(graph.get_state_history(THREAD, limit=100)), history(), history(validate_models=False), args.rounds
    )
    rows.append(row(f"get_state_history(limit=100), {args.turns} turns", tj, tf, tt, ">= 4x; trusted >= default"))

    # Cold: payloads never seen before, each loaded once per side by one long-lived serializer.
    # The pair and the trio read payloads of their own (other seeds): a payload read in the pair
    # is a second sight for `on` (its template is built then), which the "second sight" row shows.
    n = args.rounds * 3 + 2
    cold = [j.dumps_typed(states.agent_state("200k", seed=100 + k)) for k in range(n)]
    fresh = [j.dumps_typed(states.agent_state("200k", seed=100 + n + k)) for k in range(n)]
    data = cold[0]
    on, off, ref = FastSerializer(), FastSerializer(memo_bytes=0), JsonPlusSerializer()
    trusted_on = FastSerializer(validate_models=False)
    queues = {id(s): iter(cold) for s in (on, off, ref, trusted_on)}

    def next_of(s: Any) -> Callable[[], Any]:
        return lambda: s.loads_typed(next(queues[id(s)]))

    ta, tb = pair(next_of(off), next_of(on), args.rounds * 3)
    rows.append(row("cold 200k: memo off (left) vs memo filling (right)", ta, tb, 0.0, ">= 0.95x"))
    second = FastSerializer(validate_models=False)
    for s in (second, ref):
        queues[id(s)] = iter(cold)
    for blob in cold:  # `second`'s first sight of the pair's payloads
        second.loads_typed(blob)
    queues[id(on)] = iter(cold)
    tj, tf, tt = trio(next_of(ref), next_of(on), next_of(second), args.rounds * 3)
    rows.append(row("second sight 200k: each state read once before (the memo builds its templates)", tj, tf, tt, "trusted >= default"))
    on, trusted_on = FastSerializer(), FastSerializer(validate_models=False)
    for s in (on, ref, trusted_on):
        queues[id(s)] = iter(fresh)
    for s in (on, trusted_on):  # a long-lived serializer: its memo has seen other states
        for blob in cold[:4]:
            s.loads_typed(blob)
    tj, tf, tt = trio(next_of(ref), next_of(on), next_of(trusted_on), args.rounds * 3)
    rows.append(row("cold 200k: never seen", tj, tf, tt, ">= 1.2x; trusted >= 3x and >= default"))
    warm, warm_t = FastSerializer(), FastSerializer(validate_models=False)
    for s in (warm, warm_t):
        s.loads_typed(data), s.loads_typed(data)
    tj, tf, tt = trio(lambda: j.loads_typed(data), lambda: warm.loads_typed(data), lambda: warm_t.loads_typed(data), args.rounds * 3)
    rows.append(row("warm 200k: seen before (memo hits)", tj, tf, tt, "trusted >= default"))
    if args.e2e_reps:
        tj, tf, tt = graph_runs(args.e2e_turns, args.e2e_reps)
        label = f"{args.e2e_turns}-turn agent graph on InMemorySaver (benches/e2e.py run), {args.e2e_reps} runs each"
        rows.append(row(label, tj, tf, tt, ">= 1.7x; trusted >= default"))

    print("\n".join(rows))
    print(f"\nmemo after one thread walk: {stats}")
    if not args.no_memory:
        print(memo_memory(64 << 20))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
