"""Smoke test of ``benches/compare`` (``make bench``): it runs, checks, and prints its table.

Timings are never asserted: only that the quick run exits 0 (so FastSerializer's bytes equal
JsonPlusSerializer's and every loader agreed) and that the table has its header and every row,
the timed rows with both ratios (pair alternation and shuffled), the memory rows with one.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
COMPARE = "benches.compare"  # a package under the repository root, run with -m from there

HEADER_COLUMNS = (
    "size", "comparison", "A: fast-serde", "B: anchor", "B/A", "B/A shuffled", "target", "status"
)

# Every row of a --quick run (sizes 5k and 30k; no end-to-end rows).
ROW_LABELS = (
    "dumps_typed Fast vs JsonPlus",
    "dumps_typed Fast vs pickle.dumps(p5)",
    "dumps_typed Fast vs copy.deepcopy",
    "loads_typed Fast vs JsonPlus",
    "loads_typed JsonPlus cls(**kw) share",
    "loads_typed trusted vs JsonPlus",
    "loads_typed trusted vs pickle.loads",
    "plain dumps fast_serde vs ormsgpack",
    "plain dumps fast_serde vs msgspec",
    "plain loads fast_serde vs ormsgpack",
    "plain loads fast_serde vs msgspec",
    "memory dumps_typed tracemalloc peak/out",
    "memory dumps_typed RSS peak/out, 1st call",
    "memory dumps_typed malloc held/out, 1st call",
    "memory dumps_typed malloc held/out, warm",
)
QUICK_SIZES = ("5k", "30k")
# A ratio cell: a speed-up ("6.40x"), a share ("54%") or "n/a"; not a target (">=10x").
RATIO_CELL = re.compile(r"\d+\.\d+x|\d+%|n/a")


def ratio_cells(line: str) -> list[str]:
    """The ratio cells of a table line (cells are separated by two or more spaces)."""
    cells = re.split(r"\s{2,}", line.strip())
    return [cell for cell in cells[4:] if RATIO_CELL.fullmatch(cell)]


def test_compare_quick_runs_and_prints_every_row():
    docs = [REPO_ROOT / "docs" / "benchmarks.md", REPO_ROOT / "docs" / "benchmarks.png"]
    before = {p: p.stat().st_mtime_ns if p.exists() else None for p in docs}
    proc = subprocess.run(
        [sys.executable, "-m", COMPARE, "--quick", "--no-write", "--no-progress"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.returncode == 0, report
    lines = proc.stdout.splitlines()

    headers = [line for line in lines if line.startswith("size ") and "comparison" in line]
    assert len(headers) == 1, report
    assert re.split(r"\s{2,}", headers[0].strip()) == list(HEADER_COLUMNS), report

    for size in QUICK_SIZES:
        for label in ROW_LABELS:
            matching = [line for line in lines if line.startswith(f"{size} ") and label in line]
            assert len(matching) == 1, f"row {size!r} {label!r} missing\n{report}"
            # Timed rows: B/A (pairs) and B/A shuffled; memory rows: no shuffled ratio.
            expected = 1 if label.startswith("memory ") else 2
            assert len(ratio_cells(matching[0])) == expected, f"{matching[0]!r}\n{report}"
    assert not any(line.startswith(("200k ", "2m ", "e2e ")) for line in lines), report
    assert "Targets (at 200k" in proc.stdout, report
    for key in ("Machine:", "CPU:", "Python:", "fast-serde:", "langgraph-checkpoint:", "ormsgpack:",
                "msgspec:", "pydantic:"):
        assert key in proc.stdout, report
    # --no-write leaves the docs alone.
    assert before == {p: p.stat().st_mtime_ns if p.exists() else None for p in docs}


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    """``python <args>`` from the repository root, its output captured."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_corpora_bench_runs_and_prints_every_row():
    """benches/corpora.py (make bench): the equality checks pass and every row is printed."""
    proc = run_script("benches/corpora.py", "--rounds", "1", "--no-write")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line.split()[:2] for line in proc.stdout.splitlines()[2:-1]]
    names = ("twitter", "github", "citm_catalog", "canada")
    assert rows == [[n, d] for n in names for d in ("dumps", "loads")]
    assert re.search(r"geometric mean vs fastest peer: \d+\.\d+x", proc.stdout)


def test_linear_bench_runs_and_prints_every_row():
    """benches/linear.py: the equality checks pass, and both directions are printed per size,
    with a growth figure from the second size on (the CPU clock, as on a busy machine)."""
    proc = run_script(
        "benches/linear.py", "--rounds", "1", "--sizes", "5k,30k", "--clock", "cpu"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "time.thread_time" in proc.stdout
    rows = [line.split() for line in proc.stdout.splitlines()[3:]]
    assert [r[:2] for r in rows] == [
        [s, d] for s in ("5k", "30k") for d in ("dumps_typed", "loads_typed")
    ]
    # size, direction, bytes, A us, B us, A ns/B, B ns/B, B/A; then the two growths from 30k on.
    assert all(len(r) == 8 for r in rows[:2]) and all(len(r) == 10 for r in rows[2:])
    assert all(re.fullmatch(r"\d+\.\d+x", r[7]) for r in rows)


def test_compare_keeps_every_marked_section_of_the_page(tmp_path, monkeypatch):
    """`make bench` rewrites docs/benchmarks.md's results but keeps, in their order, the sections
    other scripts write between `<!-- name:begin -->` and `<!-- name:end -->` (bench-loads,
    bench-server, storage, matrix, corpora); an unmarked section is not kept."""
    sys.path.insert(0, str(REPO_ROOT))
    try:
        from benches.compare import markdown
    finally:
        sys.path.remove(str(REPO_ROOT))
    page = tmp_path / "benchmarks.md"
    blocks = [
        "<!-- bench-loads:begin -->\n## Loads\n\nrow <!-- not:end -->\n<!-- bench-loads:end -->",
        "<!-- storage:begin -->\n## Storage\n<!-- storage:end -->",
        "<!-- corpora:begin -->\n## Corpora\n<!-- corpora:end -->",
    ]
    page.write_text(
        "# Benchmarks\n\n## Results\n\nold\n\n" + blocks[0] + "\n\n## By hand\n\ngone\n\n"
        + blocks[1] + "\n\n" + blocks[2] + "\n"
    )
    monkeypatch.setattr(markdown, "DOCS_MD", page)
    assert markdown._kept_blocks() == [part for b in blocks for part in (b, "")]
    page.unlink()
    assert markdown._kept_blocks() == []
