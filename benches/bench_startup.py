"""Start-up cost of the FAST_SERDE_INSTALL hook: `python benches/bench_startup.py [--runs 40]`.

Times `python -c pass` and `python -c "import langgraph.graph"` in fresh interpreters of this
venv (where `fast_serde_startup.pth` is installed) with the variable unset, set to 0 and set to 1,
the three interleaved run by run, and prints the median and p90 wall time of each (with the
variable set, the second includes `install()`). Also prints what `-X importtime` lists for
`fast_serde` in each case (unset and 0 must list nothing).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

CASES = {"unset": None, "FAST_SERDE_INSTALL=0": "0", "FAST_SERDE_INSTALL=1": "1"}


def _env(value: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "FAST_SERDE_INSTALL"}
    if value is not None:
        env["FAST_SERDE_INSTALL"] = value
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    for program in ("pass", "import langgraph.graph"):
        times: dict[str, list[float]] = {name: [] for name in CASES}
        for _ in range(args.runs):
            for name, value in CASES.items():
                start = time.perf_counter()
                subprocess.run([sys.executable, "-c", program], env=_env(value), check=True)
                times[name].append(time.perf_counter() - start)
        print(f"python -c {program!r}, {args.runs} runs each, interleaved:")
        for name, values in times.items():
            values.sort()
            p90 = values[int(0.9 * (len(values) - 1))]
            print(f"  {name:22s} median {1e3 * statistics.median(values):6.1f} ms"
                  f"   p90 {1e3 * p90:6.1f} ms")
    for name, value in CASES.items():
        proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "pass"],
                              env=_env(value), capture_output=True, text=True, check=True)
        ours = [line for line in proc.stderr.splitlines() if "fast_serde" in line]
        # "import time: self | cumulative | name", microseconds; the outermost is the largest.
        total = max((int(line.split("|")[1]) for line in ours), default=0)
        print(f"  -X importtime, {name}: {len(ours)} fast_serde modules, {total} us cumulative")
        for line in ours:
            print("     ", line.strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
