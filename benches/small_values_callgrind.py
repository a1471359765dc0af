"""Instructions per ``loads_typed`` / ``dumps_typed`` call of a small value, FastSerializer
against JsonPlusSerializer, counted by callgrind (issue 21, item 1).

``python benches/small_values_callgrind.py [--calls 20000] [--values dict,list] [--ops loads]``

Wall-clock ratios of calls of 100-400 ns move by 2x between runs on a shared machine
(benches/small_values.py); instruction counts do not, and they track those ratios (a small
dict: 1.49x in instructions, 1.47x in time). For each side, value and direction this runs
``valgrind --tool=callgrind`` twice on the same child (``PYTHONHASHSEED=0``): once with 0 and
once with ``--calls`` calls of the bound method in a function's loop, after 50 warm-up calls, GC
disabled for both; the difference divided by ``--calls`` is the cost of one call, loop included
(the loop alone, ``id(blob)``, is printed as ``loop``). Sides: ``fast`` (FastSerializer),
``jsonplus`` (JsonPlusSerializer), ``ormsgpack`` (a bare ``ormsgpack.unpackb(data)``: the
parent's reader without its Python method), ``loop``. Needs valgrind on PATH.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

VALUES = {
    "dict": {"step": 3, "node": "agent", "ok": True},
    "list": [1, "a", None],
}

CHILD = """
import gc, sys
import ormsgpack
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from fast_serde.langgraph import FastSerializer
side, op, value, n = sys.argv[1], sys.argv[2], eval(sys.argv[3]), int(sys.argv[4])
parent = JsonPlusSerializer()
blob = parent.dumps_typed(value)
if side in ("fast", "jsonplus"):
    serde = FastSerializer() if side == "fast" else parent
    f = serde.loads_typed if op == "loads" else serde.dumps_typed
    arg = blob if op == "loads" else value
elif side == "ormsgpack":
    f, arg = (ormsgpack.unpackb, blob[1]) if op == "loads" else (ormsgpack.packb, value)
else:
    f, arg = id, blob
def run(f, arg, n):
    for _ in range(n):
        f(arg)
run(f, arg, 50)
gc.disable()
run(f, arg, n)
"""


def collected(side: str, op: str, value: object, calls: int) -> int:
    """Instructions callgrind counted for the whole child with ``calls`` timed calls."""
    env = dict(os.environ, PYTHONHASHSEED="0")
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, "-c", CHILD, side, op, repr(value), str(calls)],
        env=env, capture_output=True, text=True, check=True,
    )
    m = re.search(r"Collected : (\d+)", out.stderr)
    if m is None:
        raise SystemExit(f"callgrind printed no count:\n{out.stderr[-2000:]}")
    return int(m.group(1))


def per_call(side: str, op: str, value: object, calls: int) -> int:
    return (collected(side, op, value, calls) - collected(side, op, value, 0)) // calls


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--values", default="dict,list")
    ap.add_argument("--ops", default="loads,dumps")
    args = ap.parse_args(argv)
    print(f"Python {sys.version.split()[0]}; instructions per call (callgrind, {args.calls} calls)")
    print(f"{'call':<14} {'fast':>7} {'jsonplus':>9} {'ormsgpack':>10} {'loop':>6} {'ratio':>6}")
    for op in args.ops.split(","):
        for name in args.values.split(","):
            value = VALUES[name]
            n = {s: per_call(s, op, value, args.calls) for s in ("fast", "jsonplus", "ormsgpack", "loop")}
            print(f"{op + ' ' + name:<14} {n['fast']:>7} {n['jsonplus']:>9} {n['ormsgpack']:>10}"
                  f" {n['loop']:>6} {n['jsonplus'] / n['fast']:>5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
