"""``valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*TypedBinding*dumps_typed*'
python benches/callgrind_typed.py dumps`` (or ``loads`` with ``*TypedBinding*loads_typed*``):
instruction counts of ``FastSerializer().dumps_typed`` / ``loads_typed`` on the seeded 200k
checkpoint of fixtures/states.py, for callgrind to count.

One serializer; three untimed warm-up calls (per-class plans decided, classes resolved, the memo
filled: loads of messages seen before), then ``--calls`` calls (default 10). Only the calls inside
the native ``TypedBinding`` methods are counted (``--toggle-collect``); divide callgrind's total by
the number of calls, warm-up included (the toggle counts them too: 13 by default).
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fast_serde.langgraph import FastSerializer  # noqa: E402
from fixtures.states import checkpoint  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("side", choices=("dumps", "loads"))
    p.add_argument("--size", default="200k")
    p.add_argument("--calls", type=int, default=10)
    args = p.parse_args()
    serde = FastSerializer()
    value = checkpoint(args.size)
    typed = serde.dumps_typed(value)
    gc.disable()
    keep = []
    for _ in range(3 + args.calls):
        keep.append(serde.dumps_typed(value) if args.side == "dumps" else serde.loads_typed(typed))
    print(f"{args.side} {args.size}: {3 + args.calls} calls, {len(typed[1])} bytes")


if __name__ == "__main__":
    main()
