"""The two ratios of the test matrices (`make test-matrix`, `make test-releases`): dumps_typed and
loads_typed at 200k, FastSerializer against the installed JsonPlusSerializer, in one process.

    python benches/matrix_ratios.py [--rounds N]

Run from the repository root with the interpreter of the venv under test. Before timing, the
bytes and loaded objects are checked exactly as `make bench` checks them
(`benches.compare.timing.build_contenders`, which raises on any difference); then each pair is
sampled alternately, in a seeded shuffled order every round, the cyclic GC disabled during each
sample for both sides alike (`benches.compare.timing.time_pair`). Prints one JSON line:
``{"size": "200k", "rounds": N, "bytes_identical": true, "dumps_typed": B/A, "loads_typed": B/A,
"python": "3.X.Y", "cpython_layout": bool}`` where B/A is JsonPlusSerializer's median time per
call over FastSerializer's (how many times faster) and ``cpython_layout`` is
``fast_serde._native.CPYTHON_LAYOUT`` (whether this build reads CPython's private str and dict
layouts in place). Exit status 1 (and ``"bytes_identical": false`` with the reason) on a
difference.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tqdm import tqdm  # noqa: E402

from benches.compare.timing import Mismatch, build_contenders, time_pair  # noqa: E402
from fast_serde._native import CPYTHON_LAYOUT  # noqa: E402

SIZE = "200k"
PAIRS = (
    ("dumps_typed", "fast.dumps_typed", "jsonplus.dumps_typed"),
    ("loads_typed", "fast.loads_typed", "jsonplus.loads_typed"),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="alternating rounds per pair (default 40)")
    args = parser.parse_args(argv)
    try:
        contenders, _ = build_contenders(SIZE)
    except Mismatch as exc:
        print(json.dumps({"size": SIZE, "bytes_identical": False, "reason": str(exc)}))
        return 1
    by_name = {c.name: c for c in contenders}
    result: dict[str, object] = {"size": SIZE, "rounds": args.rounds, "bytes_identical": True}
    bar = tqdm(disable=True)  # time_pair reports progress; the matrices print a table instead
    for label, a, b in PAIRS:
        by_name[a].calibrate(0.0)
        by_name[b].calibrate(0.0)
        fast, ref = time_pair(label, SIZE, by_name[a], by_name[b], args.rounds, bar)
        result[label] = round(ref / fast, 2)
    result["python"] = platform.python_version()
    result["cpython_layout"] = CPYTHON_LAYOUT
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
