"""``python benches/linear.py [--rounds N] [--sizes 5k,30k,200k,2m] [--clock wall|cpu]``: time
per byte of ``dumps_typed`` and ``loads_typed``, FastSerializer beside JsonPlusSerializer, at every
state size of fixtures/states.py (issue 21 item 3: is the cost linear in the state's size?).

Each (FastSerializer, JsonPlusSerializer) pair is timed alone, A and B alternating in an order
shuffled (seeded) every round, each sample a batch lasting at least 5 ms (one call at 2m) with the
cyclic GC disabled for both sides alike (``benches.compare.timing.Contender``), by the wall clock
or, with ``--clock cpu``, this thread's CPU time: on a busy machine the wall clock also counts the
time the process waits for a CPU, which a 2m call (longer than a scheduler time slice) meets far
more often than a 200k one. Before timing,
FastSerializer's bytes must equal JsonPlusSerializer's and its loads must equal JsonPlusSerializer's
(exit status 1 otherwise).

Printed per size and direction: the msgpack bytes of the state, each side's median time per call
and per byte (nanoseconds per byte of the msgpack payload), the speed-up (JsonPlus / Fast), and
each side's growth from the previous size as (time ratio) / (bytes ratio): 1.00 is linear.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benches.compare.timing import CLOCKS, Contender, time_pair  # noqa: E402
from fast_serde.langgraph import FastSerializer  # noqa: E402
from fixtures.states import SIZES, checkpoint  # noqa: E402

MIN_SAMPLE = 0.005


def pairs(size: str, clock: str) -> tuple[int, dict[str, tuple[Contender, Contender]]]:
    """The payload length and, per direction, the (Fast, JsonPlus) contenders of one size."""
    fast, ref = FastSerializer(), JsonPlusSerializer()
    ckpt = checkpoint(size)
    blob = ref.dumps_typed(ckpt)
    if fast.dumps_typed(ckpt) != blob:
        raise SystemExit(f"{size}: FastSerializer.dumps_typed bytes differ from JsonPlus's")
    if fast.loads_typed(blob) != ref.loads_typed(blob):
        raise SystemExit(f"{size}: FastSerializer.loads_typed differs from JsonPlus's")
    out = {
        "dumps_typed": (
            Contender("fast.dumps_typed", lambda: fast.dumps_typed(ckpt)),
            Contender("jsonplus.dumps_typed", lambda: ref.dumps_typed(ckpt)),
        ),
        "loads_typed": (
            Contender("fast.loads_typed", lambda: fast.loads_typed(blob)),
            Contender("jsonplus.loads_typed", lambda: ref.loads_typed(blob)),
        ),
    }
    for a, b in out.values():
        a.clock = b.clock = CLOCKS[clock]
        a.calibrate(MIN_SAMPLE)
        b.calibrate(MIN_SAMPLE)
    return len(blob[1]), out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="samples per side per pair")
    parser.add_argument("--sizes", default=",".join(SIZES), help="comma list of sizes")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall: time.perf_counter (default); cpu: time.thread_time")
    args = parser.parse_args(argv)
    sizes = [s for s in args.sizes.split(",") if s]
    bar = tqdm(total=len(sizes) * 2 * 2 * args.rounds, leave=False, file=sys.stderr)
    rows = []
    for size in sizes:
        nbytes, by_direction = pairs(size, args.clock)
        for direction, (a, b) in by_direction.items():
            ta, tb = time_pair(f"linear:{size}:{direction}", size, a, b, args.rounds, bar)
            rows.append((size, direction, nbytes, ta, tb))
    bar.close()
    print(
        "Time per byte of the msgpack payload, FastSerializer (A) beside JsonPlusSerializer (B), "
        f"clock time.{CLOCKS[args.clock].__name__};"
    )
    print("growth = (time ratio) / (bytes ratio) from the previous size, 1.00 = linear")
    print(
        f"{'size':>5} {'direction':<11} {'bytes':>9} {'A us':>9} {'B us':>9} "
        f"{'A ns/B':>7} {'B ns/B':>7} {'B/A':>6} {'A growth':>8} {'B growth':>8}"
    )
    prev: dict[str, tuple[int, float, float]] = {}
    for size, direction, nbytes, ta, tb in rows:
        growth = ("", "")
        if direction in prev:
            pn, pa, pb = prev[direction]
            growth = (f"{ta / pa / (nbytes / pn):.2f}", f"{tb / pb / (nbytes / pn):.2f}")
        prev[direction] = (nbytes, ta, tb)
        print(
            f"{size:>5} {direction:<11} {nbytes:>9} {ta * 1e6:>9.1f} {tb * 1e6:>9.1f} "
            f"{ta / nbytes * 1e9:>7.2f} {tb / nbytes * 1e9:>7.2f} {tb / ta:>5.2f}x "
            f"{growth[0]:>8} {growth[1]:>8}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
