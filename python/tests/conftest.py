"""Shared pytest setup: make the repository root importable (``import fixtures``) and the fuzz
oracles (``import oracles``, fuzz/python: robustness/test_fuzz.py runs them,
langgraph_serde/test_property.py reuses their reference-crash guard); report the differential
test's counts (test_differential.py) at the end of the run; load the derandomized hypothesis
profile (``fast_serde``). Helper modules shared by several folders are in support/ (pyproject's
``pythonpath``).

The tests run in collection order (folders, then files, alphabetically) and pass in any other:
``make test-shuffled`` runs the suite in three shuffled orders (pytest-randomly, off by default
through pyproject's ``-p no:randomly``)."""

import json
import os
import sys
from pathlib import Path

import pytest
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

_STAT_FIELDS = ("examples", "classes", "values", "comparisons", "seconds")
# Under pytest-xdist (`-n 2`: make test, the Python matrix) each worker runs its share of the
# differential test: the workers send their counts (pytest_sessionfinish) and the controller adds
# them up (pytest_testnodedown) for the one line below.
_worker_stats: dict[str, float] = {}


def _own_stats() -> dict[str, float] | None:
    check = sys.modules.get("diff_check")
    if check is None or not check.Stats.examples:
        return None
    return {name: getattr(check.Stats, name) for name in _STAT_FIELDS}


def pytest_sessionfinish(session):  # noqa: ANN001 - pytest hook
    workeroutput = getattr(session.config, "workeroutput", None)  # set on an xdist worker only
    if workeroutput is not None and (own := _own_stats()) is not None:
        workeroutput["fast_serde_diff_stats"] = json.dumps(own)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):  # noqa: ANN001 - pytest-xdist hook, on the controller
    sent = getattr(node, "workeroutput", {}).get("fast_serde_diff_stats")
    if sent:
        for name, value in json.loads(sent).items():
            _worker_stats[name] = _worker_stats.get(name, 0) + value


def pytest_terminal_summary(terminalreporter):  # noqa: ANN001 - pytest hook
    """One line with the number of hypothesis examples the differential test ran, summed over the
    xdist workers (and, with FAST_SERDE_DIFF_STATS=path, the same counts as JSON for
    scripts/fuzz.sh)."""
    s = _own_stats() or _worker_stats
    if not s.get("examples"):
        return
    terminalreporter.write_line(
        f"differential (test_differential.py): {s['examples']} hypothesis examples, {s['classes']} classes "
        f"built, {s['values']} values, {s['comparisons']} dumps/loads comparisons against "
        f"JsonPlusSerializer in {s['seconds']:.1f}s"
    )
    if path := os.environ.get("FAST_SERDE_DIFF_STATS"):
        Path(path).write_text(json.dumps({**s, "seconds": round(s["seconds"], 1)}))
