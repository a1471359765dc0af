"""Fuzz the Python API: ``fast_serde.loads``, ``FastSerializer.loads_typed`` (strict allowlist)
and ``dumps`` / ``dumps_typed`` round trips, with the oracles of ``oracles.py``.

Usage (from the repository root, with the project's venv)::

    .venv/bin/python fuzz/python/fuzz_api.py SECONDS [--engine atheris|mutate] [CORPUS_DIR...]

``atheris`` (PyPI ``atheris``, coverage-guided over the Python code of fast_serde and
LangGraph's serde; the native module is not instrumented) is used when importable; ``mutate`` is
a dependency-free random mutation loop over the corpus (also what runs without atheris). The
first CORPUS_DIR receives new atheris inputs; seeds come from all of them (default
``fixtures/fuzz_corpus``). Prints ``fuzz_api: ENGINE: N execs ...``; exits 1 on a finding,
after writing the input to ``fuzz/artifacts/python/``.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import random
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ARTIFACTS = REPO / "fuzz" / "artifacts" / "python"
DEFAULT_CORPUS = REPO / "fixtures" / "fuzz_corpus"
sys.path.insert(0, str(HERE))


def _seeds(dirs: list[Path]) -> list[bytes]:
    out = []
    for d in dirs:
        for p in sorted(d.glob("*")):
            if p.is_file() and p.suffix not in (".py", ".md"):
                out.append(p.read_bytes())
    return out


def _record(data: bytes, exc: BaseException) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    p = ARTIFACTS / f"finding-{hashlib.sha1(data).hexdigest()[:16]}"
    p.write_bytes(data)
    print(f"fuzz_api: FINDING ({type(exc).__name__}): {exc}\nfuzz_api: input written to {p}", file=sys.stderr)


_INTERESTING = bytes([0x00, 0x7F, 0x80, 0x90, 0xA0, 0xC0, 0xC1, 0xC4, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCF, 0xD3, 0xD4, 0xD8, 0xD9, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF, 0xFF])


def mutate(rng: random.Random, data: bytes, seeds: list[bytes]) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(8)
        if op == 0 and b:
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        elif op == 1 and b:
            b[rng.randrange(len(b))] = rng.choice(_INTERESTING)
        elif op == 2 and len(b) > 1:
            del b[rng.randrange(len(b)) :]
        elif op == 3:
            i = rng.randrange(len(b) + 1)
            b[i:i] = bytes([rng.choice(_INTERESTING)]) + rng.choice([b"", b"\xff\xff\xff\xff", b"\x00\x00\x00\x05"])
        elif op == 4 and len(b) > 1:
            i = rng.randrange(len(b))
            j = min(len(b), i + rng.randint(1, 32))
            k = rng.randrange(len(b) + 1)
            b[k:k] = b[i:j]
        elif op == 5 and seeds:
            other = rng.choice(seeds)
            b = b[: rng.randrange(len(b) + 1)] + other[rng.randrange(len(other) + 1) :]
        elif op == 6 and b:
            del b[rng.randrange(len(b))]
        else:
            b.append(rng.randrange(256))
    return bytes(b[: 1 << 16])


def run_mutate(seconds: float, seeds: list[bytes], check) -> int:
    rng = random.Random(int(os.environ.get("FUZZ_SEED", "20251122")))
    deadline = time.monotonic() + seconds
    execs = 0
    start = time.monotonic()
    while time.monotonic() < deadline:
        data = seeds[execs] if execs < len(seeds) else mutate(rng, rng.choice(seeds) if seeds else b"", seeds)
        try:
            check(data)
        except Exception as exc:  # noqa: BLE001 - every exception is a finding
            _record(data, exc)
            return 1
        execs += 1
    took = time.monotonic() - start
    print(f"fuzz_api: mutate: {execs} execs in {took:.1f}s ({execs / max(took, 1e-9):.0f}/s), {len(seeds)} seeds, no findings")
    skipped = getattr(sys.modules.get("oracles"), "REFERENCE_CRASH_SKIPS", 0)
    if skipped:
        print(f"fuzz_api: {skipped} inputs not given to loads_typed: the installed ormsgpack (< 1.13) crashes on them")
    return 0


def run_atheris(seconds: float, dirs: list[Path]) -> int:
    import atheris

    with atheris.instrument_imports(include=["fast_serde", "langgraph.checkpoint.serde", "oracles"]):
        import oracles

    def one(data: bytes) -> None:
        try:
            oracles.check_all(data)
        except Exception as exc:  # noqa: BLE001
            _record(data, exc)
            raise

    for d in dirs[:1]:
        d.mkdir(parents=True, exist_ok=True)
    argv = [sys.argv[0], f"-max_total_time={int(seconds)}", "-max_len=8192", "-print_final_stats=1", "-rss_limit_mb=4096", f"-artifact_prefix={ARTIFACTS}/", *map(str, dirs)]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    atheris.Setup(argv, one)
    atheris.Fuzz()  # exits the process
    return 0


def main() -> int:
    # The parent logs a warning per blocked or unreconstructable type: thousands per second here.
    logging.getLogger("langgraph").setLevel(logging.CRITICAL + 1)
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("seconds", type=float)
    ap.add_argument("--engine", choices=("auto", "atheris", "mutate"), default="auto")
    ap.add_argument("corpus", nargs="*", type=Path)
    args = ap.parse_intermixed_args()
    dirs = args.corpus or [DEFAULT_CORPUS]
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "mutate"
    if engine == "atheris":
        return run_atheris(args.seconds, dirs)
    import oracles

    return run_mutate(args.seconds, _seeds(dirs), oracles.check_all)


if __name__ == "__main__":
    sys.exit(main())
