"""Shared pytest setup: make the repository root importable (``import fixtures``) and the fuzz
oracles (``import oracles``, fuzz/python: test_fuzz.py runs them, test_langgraph.py reuses their
reference-crash guard); report the differential test's counts (test_differential.py) at the end
of the run."""

import json
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
for _path in (REPO_ROOT, REPO_ROOT / "fuzz" / "python"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))


def pytest_terminal_summary(terminalreporter):  # noqa: ANN001 - pytest hook
    """One line with the number of hypothesis examples the differential test ran (and, with
    FAST_SERDE_DIFF_STATS=path, the same counts as JSON for scripts/fuzz.sh)."""
    check = sys.modules.get("diff_check")
    if check is None or not check.Stats.examples:
        return
    s = check.Stats
    terminalreporter.write_line(
        f"differential (test_differential.py): {s.examples} hypothesis examples, {s.classes} classes "
        f"built, {s.values} values, {s.comparisons} dumps/loads comparisons against "
        f"JsonPlusSerializer in {s.seconds:.1f}s"
    )
    if s.classes > check.PLAN_CACHE_CLASSES:
        terminalreporter.write_line(
            f"differential: more than {check.PLAN_CACHE_CLASSES} classes in one process: FastSerializer "
            "caches plans for the first 4096 only, later examples did not exercise per-class caches"
        )
    if path := os.environ.get("FAST_SERDE_DIFF_STATS"):
        stats = {"examples": s.examples, "classes": s.classes, "values": s.values, "comparisons": s.comparisons, "seconds": round(s.seconds, 1)}
        Path(path).write_text(json.dumps(stats))
