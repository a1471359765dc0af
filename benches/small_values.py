"""Small values through ``dumps_typed`` / ``loads_typed``, FastSerializer against
JsonPlusSerializer (issue 21, item 1).

``python benches/small_values.py [--rounds 15] [--calls 20000] [--json PATH]``

LangGraph calls ``dumps_typed`` for every pending write of every task (ints, short strs, None,
small lists, one message) and ``loads_typed`` for each on every resume, so the cost per call of
a small value is what a graph pays per write. For each value and direction this prints the
median nanoseconds per call of both serializers and the ratio JsonPlusSerializer /
FastSerializer (above 1.0: FastSerializer is faster).

How it is measured: both serializers run in this one process, one long-lived instance each (as a
saver holds one). Each round times one block of ``--calls`` calls of A, then of B, the order
flipping every round (A B, B A, ...); before every block the cyclic GC is collected, and it is
disabled during the block, for both sides alike. A block is a ``timeit`` loop calling the
serializer's bound method (``serde.dumps_typed(value)``), as a saver calls it. Before timing,
every value's blobs are checked equal (bytes) and the loaded objects equal to the parent's.
The median over rounds is reported; ``--json`` writes the rows as JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import timeit
from collections.abc import Callable
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from fast_serde.langgraph import FastSerializer

VALUES: list[tuple[str, Any]] = [
    ("None", None),
    ("True", True),
    ("int", 12345),
    ("float", 3.25),
    ("short str", "hello world"),
    ("bytes", b"\x00\x01binary"),
    ('[1, "a", None]', [1, "a", None]),
    ("small dict", {"step": 3, "node": "agent", "ok": True}),
    (
        "one AIMessage",
        AIMessage(
            content="The weather in Paris is 18 C and sunny.",
            id="run-1",
            tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"}],
        ),
    ),
    ("one HumanMessage", HumanMessage(content="What is the weather in Paris?", id="msg-1")),
]


def block(fn: Callable[[Any], Any], arg: Any, calls: int) -> float:
    """Seconds per call of ``fn(arg)`` over ``calls`` calls, GC collected then disabled."""
    gc.collect()
    gc.disable()
    try:
        timer = timeit.Timer("fn(arg)", globals={"fn": fn, "arg": arg})
        return timer.timeit(calls) / calls
    finally:
        gc.enable()


def pair(
    a: tuple[Callable[[Any], Any], Any], b: tuple[Callable[[Any], Any], Any], rounds: int, calls: int
) -> tuple[float, float]:
    """Median seconds per call of ``a`` and ``b``, alternating A B, B A, ... (one warm-up each)."""
    block(*a, calls // 10 or 1)
    block(*b, calls // 10 or 1)
    ta: list[float] = []
    tb: list[float] = []
    for i in range(rounds):
        if i % 2 == 0:
            ta.append(block(*a, calls))
            tb.append(block(*b, calls))
        else:
            tb.append(block(*b, calls))
            ta.append(block(*a, calls))
    return statistics.median(ta), statistics.median(tb)


def check(fast: FastSerializer, parent: JsonPlusSerializer) -> None:
    """Every value: FastSerializer's blob equals the parent's, and each reads the other's blob
    to an object equal to the parent's reading."""
    for name, value in VALUES:
        ours, theirs = fast.dumps_typed(value), parent.dumps_typed(value)
        if ours != theirs:
            raise SystemExit(f"{name}: FastSerializer wrote {ours!r}, JsonPlusSerializer {theirs!r}")
        expected = parent.loads_typed(theirs)
        if fast.loads_typed(theirs) != expected or type(fast.loads_typed(theirs)) is not type(expected):
            raise SystemExit(f"{name}: FastSerializer read another object than JsonPlusSerializer")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--json", help="also write the rows to this JSON file")
    args = ap.parse_args(argv)

    fast, parent = FastSerializer(), JsonPlusSerializer()
    check(fast, parent)
    rows = []
    print(f"Python {sys.version.split()[0]}; median of {args.rounds} rounds of {args.calls} calls")
    print(f"{'value':<18} {'dumps_typed ns (fast / jsonplus)':>34} {'ratio':>6}"
          f" {'loads_typed ns (fast / jsonplus)':>34} {'ratio':>6}")
    for name, value in VALUES:
        blob = parent.dumps_typed(value)
        fd, pd = pair((fast.dumps_typed, value), (parent.dumps_typed, value), args.rounds, args.calls)
        fl, pl = pair((fast.loads_typed, blob), (parent.loads_typed, blob), args.rounds, args.calls)
        row = {
            "value": name,
            "dumps_fast_ns": fd * 1e9,
            "dumps_jsonplus_ns": pd * 1e9,
            "dumps_ratio": pd / fd,
            "loads_fast_ns": fl * 1e9,
            "loads_jsonplus_ns": pl * 1e9,
            "loads_ratio": pl / fl,
        }
        rows.append(row)
        print(
            f"{name:<18} {fd * 1e9:>15.0f} / {pd * 1e9:<16.0f} {pd / fd:>5.2f}x"
            f" {fl * 1e9:>15.0f} / {pl * 1e9:<16.0f} {pl / fl:>5.2f}x"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"python": sys.version.split()[0], "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
