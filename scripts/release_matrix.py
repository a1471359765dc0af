"""The langgraph-checkpoint release matrix (`make test-releases`).

For every release in `fast_serde.langgraph._compat.VERIFIED`, in its own venv
`.venv-lgc-<release>` (made and filled by uv): langgraph-checkpoint at that release, the companions
it installs with (`COMPANIONS`: langgraph and langgraph-checkpoint-sqlite lines that accept it;
every other pin from requirements-dev.txt), and the fast-serde wheel built once from this tree. In
each it runs

1. our tests of the format (`LANGGRAPH_TESTS` in python/tests/langgraph_serde/), test_golden.py,
   server/test_json_hook.py (the native `_msgpack_ext_hook_to_json` reader) and
   releases/test_releases.py (the probe finds nothing on that release, and simulated future
   releases built on it) against that release's JsonPlusSerializer;
2. that release's own tests/test_jsonplus.py (from its sdist) with FastSerializer in
   JsonPlusSerializer's place: a conftest.py beside the copied file sets
   `langgraph.checkpoint.serde.jsonplus.JsonPlusSerializer = FastSerializer` before the file is
   imported, and fails the run unless the test module's `JsonPlusSerializer` is FastSerializer;
3. a byte check: every golden value and the 5k/30k/200k agent states, FastSerializer's
   `dumps_typed` against the installed JsonPlusSerializer's, and each side reading the other's.

Releases below `_compat.MINIMUM` (`TOO_OLD`) get a venv too: importing fast_serde.langgraph must
raise an ImportError naming the installed version and the minimum.

    python scripts/release_matrix.py [--only 4.0.1,4.3.2] [--python PYTHON]

Prints a table and exits non-zero when any cell fails. Venvs are kept (reinstalled only when
their pins change); the wheel is rebuilt (incrementally) on every run.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMPAT = ROOT / "python" / "fast_serde" / "langgraph" / "_compat.py"
WHEELS = ROOT / "target" / "release-wheels"
WORK = ROOT / "target" / "lgc-releases"
UV = Path(sys.executable).parent / "uv"  # this venv's (requirements-dev.txt)

# The langgraph lines each release line installs with (the pinned ones need 4.3); found with pip's
# resolver against requirements-dev.txt's other pins.
COMPANIONS = {
    "4.0": ["langgraph==1.1.10", "langgraph-prebuilt==1.0.13", "langgraph-sdk==0.3.15",
            "langgraph-checkpoint-sqlite==3.0.3"],
    "4.1": ["langgraph==1.2.14", "langgraph-checkpoint-sqlite==3.1.1"],
    "4.2": ["langgraph==1.2.14", "langgraph-checkpoint-sqlite==3.1.1"],
    "4.3": [],  # requirements-dev.txt's own
}
# What the three test runs need from requirements-dev.txt (by name), and what the releases' own
# test_jsonplus.py imports beyond it (versions from langgraph-checkpoint 4.3.2's uv.lock).
NEEDED = ("langgraph", "langgraph-checkpoint-sqlite", "langchain-core", "pydantic", "ormsgpack",
          "msgpack", "numpy", "hypothesis", "pytest", "pytest-xdist", "msgspec", "tqdm")
RELEASE_TEST_EXTRAS = ["dataclasses-json==0.6.7", "pandas==2.3.3"]
TOO_OLD = ("3.0.1", "4.0.0")
# Failures of a release's own test_jsonplus.py that are known fast-serde bugs being fixed
# elsewhere: reported as known (the run stays green); any other failure fails the run. Remove an
# entry when its fix lands (the table then says "now passes").
KNOWN: dict[str, str] = {}
# Ours, run against each release: the format (every type family, the allowlist, tags, encryption,
# errors, regressions, a real graph), the golden blobs, the probe on that release.
LANGGRAPH_TESTS = (
    "types", "pydantic", "trusted", "ext_payloads", "property", "allowlist", "type_tags", "encryption",
    "errors", "regressions", "graph",
)
OUR_TESTS = (
    *(f"langgraph_serde/test_{name}.py" for name in LANGGRAPH_TESTS),
    "langgraph_serde/test_golden.py",
    "releases/test_releases.py",
    "server/test_json_hook.py",
)

SHIM = '''\
"""Run this langgraph-checkpoint release's test_jsonplus.py with FastSerializer in
JsonPlusSerializer's place (scripts/test_releases.py)."""
import langgraph.checkpoint.serde.jsonplus as jsonplus

from fast_serde.langgraph import FastSerializer

jsonplus.JsonPlusSerializer = FastSerializer


def pytest_collection_finish(session):
    mods = {item.module for item in session.items}
    assert mods and all(m.JsonPlusSerializer is FastSerializer for m in mods), "shim not applied"
'''

BYTES_CHECK = '''\
import json, sys
sys.path.insert(0, sys.argv[1])
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from fast_serde.langgraph import FastSerializer
from fixtures.golden_values import VALUES
sys.path.insert(0, sys.argv[1] + "/python/tests/support")
from lg_strategies import assert_same
cases = dict(VALUES)  # the golden values, the 5k/30k/200k agent states and a checkpoint among them
j, f = JsonPlusSerializer(), FastSerializer()
bad = []
for name, make in sorted(cases.items()):
    value = make()
    tj, tf = j.dumps_typed(value), f.dumps_typed(value)
    if tj[0] != tf[0] or bytes(tj[1]) != bytes(tf[1]):
        bad.append(name)
        continue
    try:
        assert_same(f.loads_typed(tj), j.loads_typed(tj))
    except AssertionError:
        bad.append(name + " (read)")
print(json.dumps({"total": len(cases), "bad": bad}))
'''

OLD_CHECK = '''\
import json
try:
    import fast_serde.langgraph
except ImportError as exc:
    print(json.dumps({"error": str(exc)}))
else:
    print(json.dumps({"error": None}))
'''


def verified() -> tuple[str, ...]:
    """`_compat.VERIFIED`, read without importing it (it imports langgraph)."""
    for node in ast.parse(COMPAT.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "VERIFIED" for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise SystemExit("VERIFIED not found in _compat.py")


def minimum() -> str:
    return re.search(r'^MINIMUM = "([^"]+)"', COMPAT.read_text(), re.M).group(1)  # type: ignore[union-attr]


def pins() -> dict[str, str]:
    """requirements-dev.txt's pins that apply to this Python (environment markers evaluated)."""
    from packaging.markers import Marker

    out = {}
    for line in (ROOT / "requirements-dev.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" not in line:
            continue
        spec, _, marker = line.partition(";")
        if marker.strip() and not Marker(marker.strip()).evaluate():
            continue
        name = spec.split("==")[0].strip()
        out[re.sub(r"\[.*\]", "", name).lower()] = spec.strip()
    return out


def requirements(release: str) -> list[str]:
    p = pins()
    if release in TOO_OLD:
        return [f"langgraph-checkpoint=={release}", p["ormsgpack"], p["langchain-core"], p["pydantic"]]
    line = ".".join(release.split(".")[:2])
    companions = COMPANIONS[line]
    taken = {re.split(r"[=<>]", c)[0] for c in companions}
    reqs = [f"langgraph-checkpoint=={release}", *companions]
    reqs += [p[n] for n in NEEDED if n not in taken]
    return reqs + RELEASE_TEST_EXTRAS


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, text=True, capture_output=True, **kw)


def build_wheel(python: str) -> Path:
    maturin = Path(python).parent / "maturin"
    WHEELS.mkdir(parents=True, exist_ok=True)
    for old in WHEELS.glob("*.whl"):
        old.unlink()
    r = run([str(maturin), "build", "--release", "--quiet", "-i", python, "-o", str(WHEELS)], cwd=ROOT)
    if r.returncode != 0:
        sys.exit(f"maturin build failed:\n{r.stdout}\n{r.stderr}")
    return next(WHEELS.glob("*.whl"))


def venv(release: str, python: str, wheel: Path) -> Path:
    path = ROOT / f".venv-lgc-{release}"
    reqs = requirements(release)
    stamp = path / ".lgc-pins"
    want = hashlib.sha256(json.dumps([reqs, "uv, bytecode"]).encode()).hexdigest()  # how, too
    # uv (requirements-dev.txt) makes and fills the venv: seconds a release from its cache, where
    # `python -m venv` and pip took 35-40 s; the same pins, resolved to the same versions. Compiled
    # to bytecode as pip does (uv does not by default): without it every process of the tests
    # compiled langchain-core, pydantic, numpy and pandas anew, and "our tests" took twice as long.
    # (The Makefile tells uv what pip is told through the environment: UV_FIND_LINKS, the timeout.)
    install = [str(UV), "pip", "install", "--quiet", "--compile-bytecode",
               "--python", str(path / "bin" / "python")]
    if not (stamp.exists() and stamp.read_text() == want):
        shutil.rmtree(path, ignore_errors=True)
        subprocess.run([str(UV), "venv", "--quiet", "--python", python, str(path)], check=True)
        r = run(install + reqs)
        if r.returncode != 0:
            sys.exit(f"installing {reqs} into {path} failed:\n{r.stdout}\n{r.stderr}")
        stamp.write_text(want)
    r = run(install + ["--no-deps", "--reinstall", str(wheel)])
    if r.returncode != 0:
        sys.exit(f"installing {wheel} into {path} failed:\n{r.stderr}")
    return path / "bin" / "python"


def release_tests(release: str) -> Path:
    """The release's tests/test_jsonplus.py from its sdist, beside the shim conftest."""
    dest = WORK / release
    sdists = WORK / "sdists"
    sdists.mkdir(parents=True, exist_ok=True)
    name = f"langgraph_checkpoint-{release}.tar.gz"
    if not (sdists / name).exists():
        r = run([sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps",
                 "-d", str(sdists), f"langgraph-checkpoint=={release}"])
        if r.returncode != 0:
            sys.exit(f"pip download of the {release} sdist failed:\n{r.stderr}")
    shutil.rmtree(dest, ignore_errors=True)
    (dest / "tests").mkdir(parents=True)
    # As in the sdist: the tests import each other as `tests.*` and name `tests.test_jsonplus`.
    with tarfile.open(sdists / name) as tar:
        for f in ("__init__.py", "test_jsonplus.py"):
            member = tar.getmember(f"langgraph_checkpoint-{release}/tests/{f}")
            (dest / "tests" / f).write_bytes(tar.extractfile(member).read())  # type: ignore[union-attr]
    (dest / "conftest.py").write_text(SHIM)
    return dest


SUMMARY = re.compile(r"^=+ (.*) in [\d.]+s", re.M)
FAILED = re.compile(r"^FAILED \S+::(\w+)", re.M)


def pytest(python: Path, args: list[str], cwd: Path) -> tuple[bool, str, str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("LANGGRAPH_STRICT_MSGPACK", None)
    r = run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=cwd, env=env)
    m = SUMMARY.findall(r.stdout)
    summary = m[-1] if m else (r.stdout + r.stderr).strip().splitlines()[-1:] or ["no output"]
    summary = summary if isinstance(summary, str) else summary[0]
    return r.returncode == 0, summary, r.stdout + r.stderr


def ratios(python: Path) -> tuple[bool, str]:
    """benches/matrix_ratios.py in the release's venv: (bytes identical, "9.9x / 5.4x")."""
    r = run([str(python), str(ROOT / "benches" / "matrix_ratios.py")], cwd=ROOT)
    try:
        out = json.loads(r.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return False, f"FAIL: {(r.stderr.strip().splitlines() or ['no output'])[-1]}"
    if not out["bytes_identical"]:
        return False, f"FAIL: {out['reason']}"
    return True, f"{out['dumps_typed']:.1f}x / {out['loads_typed']:.1f}x"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", help="comma-separated releases (default: every verified one, and the too-old ones)")
    ap.add_argument("--python", default=str(ROOT / ".venv" / "bin" / "python"))
    ap.add_argument("--log", default=str(WORK / "log"))
    a = ap.parse_args()
    releases = list(verified()) + list(TOO_OLD)
    if a.only:
        releases = [r for r in releases if r in a.only.split(",")]
    base = subprocess.run([a.python, "-c", "import sys; print(sys.base_prefix + '/bin/python3')"],
                          check=True, text=True, capture_output=True).stdout.strip()
    started = time.monotonic()
    wheel = build_wheel(a.python)
    log = Path(a.log)
    log.mkdir(parents=True, exist_ok=True)
    rows, ok_all, passed = [], True, 0
    for release in releases:
        t = time.monotonic()
        py = venv(release, base, wheel)
        if release in TOO_OLD:
            out = json.loads(run([str(py), "-c", OLD_CHECK]).stdout.strip().splitlines()[-1])
            err = out["error"] or ""
            ok = release in err and minimum() in err
            rows.append((release, "ImportError" if ok else f"FAIL: {err or 'imported'}", "-", "-", "-",
                         time.monotonic() - t))
            ok_all &= ok
            passed += ok
            continue
        ours_ok, ours, text1 = pytest(py, [f"python/tests/{t}" for t in OUR_TESTS], ROOT)
        tests = release_tests(release)
        theirs_ok, theirs, text2 = pytest(py, ["-c", os.devnull, "--rootdir", str(tests), "tests", "-rf"], tests)
        failed = set(FAILED.findall(text2))
        if not theirs_ok and failed and failed <= set(KNOWN):
            theirs_ok = True
            theirs += " (known: " + "; ".join(f"{t}: {KNOWN[t]}" for t in sorted(failed)) + ")"
        source = (tests / "tests" / "test_jsonplus.py").read_text()
        now_passing = [t for t in KNOWN if f"def {t}(" in source and t not in failed]
        if theirs_ok and now_passing:
            theirs += f" ({', '.join(now_passing)} now passes: remove it from KNOWN)"
        (log / f"{release}.txt").write_text(text1 + "\n\n" + text2)
        r = run([str(py), "-c", BYTES_CHECK, str(ROOT)], cwd=ROOT)
        try:
            b = json.loads(r.stdout.strip().splitlines()[-1])
            bytes_ok = not b["bad"]
            bytes_cell = f"{b['total'] - len(b['bad'])}/{b['total']}" + ("" if bytes_ok else f" ({', '.join(b['bad'])})")
        except (IndexError, ValueError, KeyError):
            bytes_ok, bytes_cell = False, f"FAIL: {r.stderr.strip().splitlines()[-1:]}"
        ratios_ok, ratios_cell = ratios(py)
        rows.append((release, ("" if ours_ok else "FAIL: ") + ours, ("" if theirs_ok else "FAIL: ") + theirs,
                     bytes_cell, ratios_cell, time.monotonic() - t))
        ok_all &= ours_ok and theirs_ok and bytes_ok and ratios_ok
        passed += ours_ok and theirs_ok and bytes_ok and ratios_ok
    print("| langgraph-checkpoint | our tests (langgraph_serde format, test_golden, test_releases) | its test_jsonplus.py with FastSerializer | bytes identical (golden values, 5k/30k/200k states) | dumps_typed / loads_typed vs JsonPlus at 200k | seconds |")
    print("|---|---|---|---|---|---|")
    for release, ours, theirs, b, ratio, secs in rows:
        print(f"| {release} | {ours} | {theirs} | {b} | {ratio} | {secs:.0f} |")
    print(f"\n{len(rows)} releases in {time.monotonic() - started:.0f} s; logs in {log}")
    print(f"releases: {passed} passed, {len(rows) - passed} failed")
    return 0 if ok_all else 1


if __name__ == "__main__":
    raise SystemExit(main())
