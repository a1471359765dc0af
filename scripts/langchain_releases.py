"""The langchain-core release lane (`make test-langchain`): the verified table of LangChain message
classes (fast_serde.langgraph._verified) proved on every release it lists.

For every release in `_verified.RELEASES`, in turn: that langchain-core (and any newer companion
it requires, `COMPANIONS`) is installed with pip into `target/langchain-releases/<release>`, a
directory put first on PYTHONPATH over the project's .venv (everything else stays the pinned
set); its requirements are checked against what that path then imports; and the table's tests run
against it (test_verified_table.py: every member and hash; test_verified_properties.py: the
payload-alone and restore properties; test_verified_restore.py and test_verified_verdicts.py:
trusted restore of the table's classes, the unverified cases; test_trusted.py: trusted restore
against JsonPlusSerializer).
FAST_SERDE_LANGCHAIN_RELEASE tells the tests which release must be the one imported.

    python scripts/langchain_releases.py [--only 1.7.2,1.8.4]

Prints one line per release and exits non-zero when any fails. The directories are kept (pip runs
again only for a missing one).
"""

from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VERIFIED = ROOT / "python" / "fast_serde" / "langgraph" / "_verified.py"
WORK = ROOT / "target" / "langchain-releases"
TESTS = (
    "python/tests/langgraph_serde/test_verified_table.py",
    "python/tests/langgraph_serde/test_verified_properties.py",
    "python/tests/langgraph_serde/test_verified_restore.py",
    "python/tests/langgraph_serde/test_verified_verdicts.py",
    "python/tests/langgraph_serde/test_trusted.py",
)
# Requirements of a release newer than the project's pins (checked below: a missing one fails).
COMPANIONS: dict[str, list[str]] = {}

CHECK_REQUIREMENTS = '''\
import sys
from importlib.metadata import distribution, version, PackageNotFoundError
from packaging.requirements import Requirement
bad = []
for line in distribution("langchain-core").requires or []:
    req = Requirement(line)
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        continue
    try:
        have = version(req.name)
    except PackageNotFoundError:
        bad.append(f"{req.name} missing")
        continue
    if not req.specifier.contains(have, prereleases=True):
        bad.append(f"{req.name} {have} does not meet {req.specifier}")
import langchain_core
print(langchain_core.__version__)
print("; ".join(bad))
'''


def releases() -> tuple[str, ...]:
    """`_verified.RELEASES`, read without importing it."""
    for node in ast.parse(VERIFIED.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "RELEASES" for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise SystemExit("RELEASES not found in _verified.py")


def run(release: str, python: Path) -> tuple[bool, str]:
    target = WORK / release
    if not (target / "langchain_core").is_dir():
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
             f"langchain-core=={release}", *COMPANIONS.get(release, [])],
            check=True,
        )
    env = {**os.environ, "PYTHONPATH": str(target), "FAST_SERDE_LANGCHAIN_RELEASE": release}
    out = subprocess.run(
        [str(python), "-c", CHECK_REQUIREMENTS], env=env, cwd=ROOT, capture_output=True, text=True
    )
    lines = out.stdout.splitlines()
    if out.returncode != 0 or len(lines) < 1 or lines[0] != release:
        return False, f"imports {lines[:1]} ({out.stderr.strip()[-300:]})"
    if len(lines) > 1 and lines[1]:
        return False, f"requirements not met: {lines[1]}"
    tests = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", os.environ.get("PYTEST_WORKERS", "2"), *TESTS],
        env=env, cwd=ROOT, capture_output=True, text=True,
    )
    summary = (tests.stdout.strip().splitlines() or ["(no output)"])[-1]
    if tests.returncode != 0:
        print(tests.stdout[-4000:], tests.stderr[-2000:], sep="\n")
    return tests.returncode == 0, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated releases (default: all of RELEASES)")
    args = parser.parse_args()
    chosen = releases()
    if args.only:
        chosen = tuple(r for r in args.only.split(",") if r)
    python = ROOT / ".venv" / "bin" / "python"
    failed = []
    for release in chosen:
        start = time.monotonic()
        ok, summary = run(release, python)
        print(f"langchain-core {release:8} {'ok  ' if ok else 'FAIL'} {summary} "
              f"({time.monotonic() - start:.0f}s)", flush=True)
        if not ok:
            failed.append(release)
    if failed:
        print(f"test-langchain: failed on {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"test-langchain: the table holds on {len(chosen)} releases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
