"""``python -m benches.compare [--quick] [--no-write] ...`` (``make bench``): the arguments and
the run: every equality check, then the timing per size, the memory probes, the end-to-end runs,
the report on stdout and, unless ``--no-write``, docs/benchmarks.md and its chart.

Exit status: 0 whether the targets are met or not; 1 if the bytes or loaded objects of
fast-serde differ from the reference's (nothing is timed then); 2 on bad arguments (argparse).
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Callable, Sequence
from typing import Any

from tqdm import tqdm

from fixtures.states import SIZES

from . import ROOT
from .chart import DOCS_PNG, write_chart
from .machine import machine_info
from .markdown import DOCS_MD, write_markdown
from .memory import measure_memory
from .report import (
    build_rows,
    e2e_lines,
    fixture_lines,
    format_table,
    memory_lines,
    target_summary,
)
from .rows import PAIR_ROWS, TARGET_SIZE
from .timing import (
    CLOCKS,
    Mismatch,
    SizeResult,
    build_contenders,
    rounds_for,
    shuffled_rounds_for,
    time_size,
)

QUICK_SIZES = ("5k", "30k")
DEFAULT_ROUNDS = 100
QUICK_ROUNDS = 5


def _sizes(text: str) -> list[str]:
    sizes = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown or not sizes:
        raise argparse.ArgumentTypeError(f"sizes must be a comma list of {', '.join(SIZES)}")
    return sizes


def _positive(kind: type) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    return parse


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benches.compare",
        description="fast-serde against JsonPlusSerializer, pickle, deepcopy, ormsgpack and "
        "msgspec, measured alternately in one process (make bench).",
    )
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke test: sizes {','.join(QUICK_SIZES)}, {QUICK_ROUNDS} rounds, "
                        "no end-to-end run")
    parser.add_argument("--sizes", type=_sizes, help=f"comma list of {','.join(SIZES)} "
                        "(default: all; with --quick: 5k,30k)")
    parser.add_argument("--rounds", type=_positive(int),
                        help=f"alternating rounds per pair and size (default {DEFAULT_ROUNDS}, "
                        f"--quick {QUICK_ROUNDS}); 2m gets rounds/8, at least 3; the shuffled "
                        "run of all contenders gets half of them, at least 3")
    parser.add_argument("--min-sample", type=_positive(float), default=None,
                        help="minimum seconds per timed batch at 5k/30k (default 0.002, "
                        "--quick 0.0005)")
    parser.add_argument("--e2e-turns", type=_positive(int), default=125)
    parser.add_argument("--e2e-reps", type=_positive(int), default=7,
                        help="alternating whole runs per serializer (default 7)")
    parser.add_argument("--no-e2e", action="store_true", help="skip the end-to-end runs")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory probes")
    parser.add_argument("--no-write", action="store_true",
                        help=f"do not write {DOCS_MD.relative_to(ROOT)} and "
                        f"{DOCS_PNG.relative_to(ROOT)}")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall: time.perf_counter (default); cpu: time.thread_time, which "
                        "leaves out the time the process waits for a CPU on a busy machine")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.sizes is None:
        args.sizes = list(QUICK_SIZES) if args.quick else list(SIZES)
    if args.rounds is None:
        args.rounds = QUICK_ROUNDS if args.quick else DEFAULT_ROUNDS
    if args.min_sample is None:
        args.min_sample = 0.0005 if args.quick else 0.002
    args.e2e = not (args.quick or args.no_e2e)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    command = "python -m benches.compare " + " ".join(sys.argv[1:] if argv is None else argv)
    machine = machine_info()
    print("fast-serde benchmarks: " + ", ".join(f"{k} {v}" for k, v in machine.items()
                                               if k in ("CPU", "Python", "fast-serde")),
          flush=True)

    n_contenders = 15
    total = sum(
        rounds_for(s, args.rounds) * 2 * len(PAIR_ROWS)
        + shuffled_rounds_for(rounds_for(s, args.rounds)) * n_contenders
        for s in args.sizes
    )
    if not args.no_memory:
        total += len(args.sizes)
    if args.e2e:
        from benches.e2e import E2E_SERIALIZERS, WARMUP_TURNS

        total += len(E2E_SERIALIZERS) * (min(WARMUP_TURNS, args.e2e_turns)
                                         + args.e2e_reps * args.e2e_turns)
    bar = tqdm(total=total, desc="benchmarking", unit="step", file=sys.stderr,
               disable=args.no_progress, mininterval=0.5, dynamic_ncols=True)

    results: list[SizeResult] = []
    try:
        prepared = {}
        for size in args.sizes:  # every check before any timing
            bar.set_postfix_str(f"{size}: fixtures and equality checks")
            prepared[size] = build_contenders(size, args.clock)
        gc.collect()
        gc.freeze()  # fixtures and imports out of the collector's way
        for size in args.sizes:
            bar.set_postfix_str(f"{size}: timing")
            contenders, info = prepared.pop(size)
            results.append(time_size(size, rounds_for(size, args.rounds), args.min_sample, bar,
                                     contenders, info))
            del contenders
        gc.unfreeze()
        gc.collect()
        if not args.no_memory:
            for r in results:
                bar.set_postfix_str(f"{r.size}: memory probe")
                r.memory = measure_memory(r.size)
                bar.update(1)
        e2e = None
        if args.e2e:
            from benches.e2e import run_e2e

            bar.set_postfix_str("end to end")
            e2e = run_e2e(args.e2e_turns, args.e2e_reps, on_turn=lambda: bar.update(1))
            if not (e2e.same_transcript and e2e.roundtrip_ok):
                raise Mismatch("end to end: the serializers' conversations or stored bytes differ")
    except Mismatch as exc:
        bar.close()
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    bar.close()

    rows = build_rows(results, e2e)
    print()
    print(f"Medians; B/A = how many times faster fast-serde (A) is than the anchor (B), timed "
          f"alternately in pairs; B/A shuffled = all contenders in a shuffled order (cold "
          f"caches); targets at {TARGET_SIZE}.")
    print(format_table(rows))
    print()
    print(f"Targets (at {TARGET_SIZE}; e2e for the end-to-end ones):")
    print("\n".join(target_summary(rows)))
    print()
    print("Fixtures:")
    print("\n".join(fixture_lines(results)))
    print("End to end:")
    print("\n".join(e2e_lines(e2e)))
    if not args.no_memory:
        print("Memory:")
        print("\n".join(memory_lines(results)))
    print("Machine:")
    print("\n".join(f"  {k}: {v}" for k, v in machine.items()))
    if not args.no_write:
        write_markdown(rows, results, e2e, machine, args, command.strip())
        write_chart(rows, results)
        print(f"wrote {DOCS_MD.relative_to(ROOT)} and {DOCS_PNG.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
