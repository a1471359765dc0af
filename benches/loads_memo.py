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
* cold: a 200 KB state never seen (a fresh FastSerializer per load), memo on against memo off:
  the fill's cost on first sight.
* warm: the same 200 KB state loaded again by one FastSerializer (memo verified) and trusted.
* memo memory: the memo's own estimate after the thread walk, and the RSS it holds.
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

import states  # noqa: E402
from langchain_core.messages import HumanMessage  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer  # noqa: E402

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
    a(), b()
    ta, tb = [], []
    for r in range(rounds):
        if r % 2 == 0:
            ta.append(timed(a))
            tb.append(timed(b))
        else:
            tb.append(timed(b))
            ta.append(timed(a))
    return statistics.median(ta), statistics.median(tb)


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


def row(label: str, tj: float, tf: float, target: str) -> str:
    return f"| {label} | {tj * 1e3:.2f} ms | {tf * 1e3:.2f} ms | {tj / tf:.2f}x | {target} |"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--turns", type=int, default=60)
    p.add_argument("--rounds", type=int, default=7)
    args = p.parse_args(argv)
    rows = ["| row | JsonPlusSerializer | FastSerializer | ratio | target |", "|---|---|---|---|---|"]

    graph, saver = agent_thread(args.turns)
    blobs = message_blobs(saver)[-40:]
    j = JsonPlusSerializer()
    sizes = [len(b[1]) for b in blobs]
    last_f: list[FastSerializer] = []

    def walk_fast() -> None:
        f = FastSerializer()
        for b in blobs:
            f.loads_typed(b)
        last_f[:] = [f]

    tj, tf = pair(lambda: [j.loads_typed(b) for b in blobs], walk_fast, args.rounds)
    rows.append(row(f"thread walk: last 40 messages blobs of {args.turns} turns ({min(sizes) // 1000}-{max(sizes) // 1000} KB)", tj, tf, ">= 4x"))
    stats = last_f[0].memo_stats()

    fast_saver = InMemorySaver(serde=FastSerializer())
    fast_saver.storage, fast_saver.writes, fast_saver.blobs = saver.storage, saver.writes, saver.blobs
    fast_graph = build_graph(fast_saver)

    def history_fast() -> None:
        fast_saver.serde = FastSerializer()
        list(fast_graph.get_state_history(THREAD, limit=100))

    tj, tf = pair(lambda: list(graph.get_state_history(THREAD, limit=100)), history_fast, args.rounds)
    rows.append(row(f"get_state_history(limit=100), {args.turns} turns", tj, tf, ">= 4x"))

    # Cold: payloads never seen before, each loaded once per side by one long-lived serializer.
    cold = [j.dumps_typed(states.agent_state("200k", seed=100 + k)) for k in range(args.rounds * 6 + 4)]
    data = cold[0]
    on, off, ref = FastSerializer(), FastSerializer(memo_bytes=0), JsonPlusSerializer()
    queues = {id(on): iter(cold), id(off): iter(cold), id(ref): iter(cold)}

    def next_of(s: Any) -> Callable[[], Any]:
        return lambda: s.loads_typed(next(queues[id(s)]))

    ta, tb = pair(next_of(off), next_of(on), args.rounds * 3)
    rows.append(row("cold 200k: memo off (left) vs memo filling (right)", ta, tb, ">= 0.95x"))
    for q in queues:
        queues[q] = iter(cold)
    tj, tf = pair(next_of(ref), next_of(on), args.rounds * 3)
    rows.append(row("cold 200k: never seen", tj, tf, ">= 1.2x"))
    warm = FastSerializer()
    warm.loads_typed(data), warm.loads_typed(data)
    tj, tf = pair(lambda: j.loads_typed(data), lambda: warm.loads_typed(data), args.rounds * 3)
    rows.append(row("warm 200k: seen before (memo verified)", tj, tf, ""))
    trusted = FastSerializer(validate_models=False, memo_bytes=0)
    tj, tf = pair(lambda: j.loads_typed(data), lambda: trusted.loads_typed(data), args.rounds * 3)
    rows.append(row("cold 200k: validate_models=False, memo off", tj, tf, ">= 6x"))

    print("\n".join(rows))
    print(f"\nmemo after one thread walk: {stats}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
