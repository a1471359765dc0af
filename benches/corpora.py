"""``python benches/corpora.py [--rounds N] [--clock wall|cpu]`` (part of ``make bench``):
``fast_serde.dumps`` / ``loads`` against ormsgpack, msgspec and msgpack-python on the standard
corpora (fixtures/corpora: orjson's twitter, github, citm_catalog and canada).

Before timing, every encoder's bytes must equal ``ormsgpack.packb(doc, option=OPT_NON_STR_KEYS |
OPT_REPLACE_SURROGATES)`` and every decoder must return the document; otherwise the script exits
with status 1. Each (fast_serde, peer) pair is then timed alone, A and B alternating in an order
shuffled (seeded) every round, each sample a batch lasting at least 2 ms with the cyclic GC
disabled for both sides alike (``benches.compare.timing.Contender``), by the wall clock or, with
``--clock cpu``, this thread's CPU time (for a busy machine). The table gives the median
time per call in microseconds and, per row, the speed-up over the fastest peer
(peer median / fast_serde median, from that peer's pair); the last line their geometric mean.
Unless ``--no-write``, the table also replaces the block between ``<!-- corpora:begin -->`` and
``<!-- corpora:end -->`` in docs/benchmarks.md (appended when absent; ``benches.compare`` keeps it).
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
from pathlib import Path

import msgpack
import msgspec
import ormsgpack
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import fast_serde  # noqa: E402
from benches.compare.markdown import DOCS_MD, replace_block  # noqa: E402
from benches.compare.timing import CLOCKS, ORMSGPACK_OPTION, Contender, time_pair  # noqa: E402
from fixtures.corpora import NAMES, corpus  # noqa: E402

BEGIN, END_MARK = "<!-- corpora:begin -->", "<!-- corpora:end -->"

PEERS = ("ormsgpack", "msgspec", "msgpack")
MIN_SAMPLE = 0.002


def contenders(name: str, clock: str = "wall") -> dict[tuple[str, str], Contender]:
    """(direction, library) -> the timed call, after checking bytes and loaded objects."""
    doc = corpus(name)
    data = ormsgpack.packb(doc, option=ORMSGPACK_OPTION)
    enc, dec = msgspec.msgpack.encode, msgspec.msgpack.decode
    dumps = {
        "fast_serde": lambda: fast_serde.dumps(doc),
        "ormsgpack": lambda: ormsgpack.packb(doc, option=ORMSGPACK_OPTION),
        "msgspec": lambda: enc(doc),
        "msgpack": lambda: msgpack.packb(doc),
    }
    loads = {
        "fast_serde": lambda: fast_serde.loads(data),
        "ormsgpack": lambda: ormsgpack.unpackb(data, option=ormsgpack.OPT_NON_STR_KEYS),
        "msgspec": lambda: dec(data),
        "msgpack": lambda: msgpack.unpackb(data),
    }
    for lib, fn in dumps.items():
        if fn() != data:
            raise SystemExit(f"{name}: {lib} bytes differ from ormsgpack.packb's")
    for lib, fn in loads.items():
        if fn() != doc:
            raise SystemExit(f"{name}: {lib} does not read the document back")
    out = {}
    for direction, fns in (("dumps", dumps), ("loads", loads)):
        for lib, fn in fns.items():
            c = Contender(f"{lib}.{direction}", fn, clock=CLOCKS[clock])
            c.calibrate(MIN_SAMPLE)
            out[direction, lib] = c
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40, help="samples per side per pair")
    parser.add_argument("--corpora", default=",".join(NAMES), help="comma list of corpora")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall: time.perf_counter (default); cpu: time.thread_time")
    parser.add_argument("--no-write", action="store_true", help=f"do not update {DOCS_MD.name}")
    args = parser.parse_args(argv)
    names = [n for n in args.corpora.split(",") if n]
    rows, ratios = [], []
    bar = tqdm(total=len(names) * 2 * len(PEERS) * 2 * args.rounds, leave=False, file=sys.stderr)
    for name in names:
        cs = contenders(name, args.clock)
        for direction in ("dumps", "loads"):
            a = cs[direction, "fast_serde"]
            medians = {}  # peer -> (fast_serde median, peer median) of its pair
            for peer in PEERS:
                label = f"corpora:{name}:{direction}:{peer}"
                medians[peer] = time_pair(label, name, a, cs[direction, peer], args.rounds, bar)
            best = min(PEERS, key=lambda p: medians[p][1])
            ratio = medians[best][1] / medians[best][0]
            ratios.append(ratio)
            rows.append((name, direction, medians, best, ratio))
    bar.close()
    lines = [
        f"{'corpus':<13} {'':5} {'fast_serde':>10} " + " ".join(f"{p:>10}" for p in PEERS)
        + "  vs fastest peer"
    ]
    for name, direction, medians, best, ratio in rows:
        ours = medians[best][0] * 1e6
        peers = " ".join(f"{medians[p][1] * 1e6:>10.1f}" for p in PEERS)
        lines.append(f"{name:<13} {direction:5} {ours:>10.1f} {peers}  {ratio:.2f}x ({best})")
    geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    lines.append(f"geometric mean vs fastest peer: {geo:.2f}x; lowest row {min(ratios):.2f}x")
    print("Standard corpora: us per call (each peer timed in its own pair with fast_serde)")
    print("\n".join(lines))
    if not args.no_write:
        write_doc(lines, args.rounds, args.clock)
    return 0


def write_doc(lines: list[str], rounds: int, clock: str) -> None:
    """Replace (or append) the corpora block of docs/benchmarks.md."""
    versions = ", ".join(
        f"{m.__name__} {getattr(m, '__version__', '?')}" for m in (ormsgpack, msgspec, msgpack)
    )
    block = "\n".join([
        BEGIN,
        "## The standard corpora",
        "",
        "`benches/corpora.py` (part of `make bench`): `fast_serde.dumps` / `loads` against "
        "ormsgpack, msgspec and msgpack-python on orjson's four data files "
        "([fixtures/corpora](../fixtures/corpora/README.md)); every encoder's bytes equal "
        "ormsgpack's and every decoder returns the document (checked before timing). "
        f"Microseconds per call, medians of {rounds} alternating rounds per (fast_serde, peer) "
        f"pair, timed by `time.{CLOCKS[clock].__name__}`, GC off for both sides during a sample; "
        "the ratio is over the fastest peer. "
        f"CPython {platform.python_version()}, {versions}.",
        "",
        "```",
        *lines,
        "```",
        END_MARK,
    ])
    replace_block(BEGIN, END_MARK, block)


if __name__ == "__main__":
    sys.exit(main())
