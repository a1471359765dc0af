"""Shared pytest setup: make the repository root importable (``import fixtures``) and the fuzz
oracles (``import oracles``, fuzz/python: robustness/test_fuzz.py runs them,
langgraph_serde/test_property.py reuses their reference-crash guard); run test_caches.py and
differential/ first (FIRST); report the differential test's counts (test_differential.py) at the
end of the run; load the derandomized hypothesis profile (``fast_serde``). Helper modules shared
by several folders are in support/ (pyproject's ``pythonpath``)."""

import json
import os
import sys
from pathlib import Path

from hypothesis import settings

REPO_ROOT = Path(__file__).resolve().parents[2]
for _path in (REPO_ROOT, REPO_ROOT / "fuzz" / "python"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

# Every hypothesis test draws the same examples on every run (the settings objects of the test
# modules, made at collection, inherit this profile), so that a run's outcome does not depend on
# the run: on the default profile, 27 properties of plain/ and test_property.py drew new random
# examples each time. `--hypothesis-profile=explore` draws random ones (and keeps failing
# examples in .hypothesis/); test_differential.py has its own switch (FAST_SERDE_DIFF_EXAMPLES).
settings.register_profile("fast_serde", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile("fast_serde")

TESTS = Path(__file__).parent  # not resolved: item.path comes from the same collection paths
# What runs before the rest (which follows in collection order: folders alphabetically), in this
# order, as it did when the tests were one flat folder:
# * test_caches.py measures the process's memory growth over 1000 dead classes against
#   JsonPlusSerializer's, within a bound that the allocations of earlier tests can tip (it ran
#   second, after a test that only starts subprocesses);
# * differential/ (test_diff_known.py, then test_differential.py) before the bulk of the suite:
#   FastSerializer caches a plan for at most 4096 live classes and decides every further class
#   per call, so a per-class cache bug only shows while that cache has room (docs/findings.md,
#   "Per-class caches and the order of the tests").
# Neither is needed for the suite to pass today: langgraph_serde/ and differential/ also pass
# with FIRST run last (December 2026), and the suite keeps a few hundred classes alive, far from
# 4096. The order goes once the class-keyed caches have one owner that clear_cache() empties
# (issue 23), with a run of shuffled file orders to show it.
FIRST = (TESTS / "langgraph_serde" / "test_caches.py", TESTS / "differential")


def _rank(item) -> int:  # noqa: ANN001 - a pytest item
    return next((i for i, path in enumerate(FIRST) if item.path.is_relative_to(path)), len(FIRST))


def pytest_collection_modifyitems(items):  # noqa: ANN001 - pytest hook
    """FIRST first, the rest in collection order (a stable sort)."""
    items.sort(key=_rank)


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
