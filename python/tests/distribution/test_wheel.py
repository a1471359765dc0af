"""What users install: the wheel and the sdist that maturin builds, and the type stubs in them.

The wheel tests are marked ``slow`` (they build the Rust extension in release mode: minutes on
a cold ``target/``) but run by default. They build with ``maturin build --release`` into a
temporary directory, install the wheel with ``pip --no-index`` into a fresh ``python -m venv``
(no system site-packages, no LangGraph: the core has no dependencies), and run an import and
round-trip smoke test there, away from the source tree. ``maturin sdist`` must build too.
They skip, saying why, when maturin or cargo is missing.

The stub test checks ``fast_serde/_native.pyi`` against the compiled module, so the stubs
cannot drift from the ``#[pyfunction]``/``#[pymethods]`` signatures.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

import fast_serde
import fast_serde._native as native

REPO_ROOT = Path(__file__).resolve().parents[3]
STUB = REPO_ROOT / "python" / "fast_serde" / "_native.pyi"
BUILD_TIMEOUT = 1800  # seconds: a cold release build of the extension


def _maturin() -> str | None:
    beside = Path(sys.executable).with_name("maturin")
    return str(beside) if beside.exists() else shutil.which("maturin")


def _run(cmd: list[str], *, cwd: Path, timeout: float = 300, env: dict[str, str] | None = None):
    proc = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} exited {proc.returncode}\n--- stdout:\n{proc.stdout[-4000:]}\n"
        f"--- stderr:\n{proc.stderr[-4000:]}"
    )
    return proc


def _clean_env() -> dict[str, str]:
    """The environment without anything pointing back at this venv or the source tree."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if Path(sys.executable).parent != Path(p)
    )
    return env


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    maturin = _maturin()
    if maturin is None:
        pytest.skip("maturin is not installed (pip install maturin): cannot build the wheel")
    if shutil.which("cargo") is None:
        pytest.skip("cargo is not on PATH: maturin cannot build the Rust extension")
    out = tmp_path_factory.mktemp("dist")
    _run(
        [maturin, "build", "--release", "-i", sys.executable, "-o", str(out / "wheels")],
        cwd=REPO_ROOT, timeout=BUILD_TIMEOUT,
    )
    _run([maturin, "sdist", "-o", str(out / "sdist")], cwd=REPO_ROOT, timeout=BUILD_TIMEOUT)
    wheels = list((out / "wheels").glob("fast_serde-*.whl"))
    sdists = list((out / "sdist").glob("fast_serde-*.tar.gz"))
    assert len(wheels) == 1, wheels
    assert len(sdists) == 1, sdists

    venv = out / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=out, env=_clean_env())
    python = venv / "bin" / "python"
    # --no-index: nothing may be fetched; the wheel must need no dependency.
    _run([str(python), "-m", "pip", "install", "--no-index", "--quiet", str(wheels[0])],
         cwd=out, env=_clean_env())
    return {"wheel": wheels[0], "sdist": sdists[0], "venv": venv, "python": python, "cwd": out}


slow = pytest.mark.slow


@slow
def test_wheel_contents(built):
    with zipfile.ZipFile(built["wheel"]) as wheel:
        names = set(wheel.namelist())
        dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = wheel.read(f"{dist_info}/METADATA").decode()
        entry_points = wheel.read(f"{dist_info}/entry_points.txt").decode()
    for name in (
        "fast_serde/__init__.py", "fast_serde/__main__.py", "fast_serde/langgraph/__init__.py",
        "fast_serde/_types.py", "fast_serde/_native.pyi", "fast_serde/py.typed",
        "fast_serde/inspect_cli/__init__.py", "fast_serde/inspect_cli/args.py",
        "fast_serde/inspect_cli/stores.py", "fast_serde/inspect_cli/render.py",
        "fast_serde/langgraph/_install.py", "fast_serde/_startup.py",
        "fast_serde/_import_hook.py", "fast_serde/_watched.py", "fast_serde/langgraph/_undo.py",
        "fast_serde/langgraph/_guards.py", "fast_serde/langgraph/_trusted.py",
        "fast_serde/langgraph/_server.py", "fast_serde/langgraph/_stats.py",
        "fast_serde/langgraph/_serializer.py", "fast_serde/langgraph/_plans.py",
        "fast_serde/langgraph/_compat.py", "fast_serde/langgraph/_probe.py",
        "fast_serde/langgraph/_probe_values.py", "fast_serde/langgraph/_verified.py",
        "fast_serde/langgraph/_verified_deps.py", "fast_serde/langgraph/_review.py",
    ):
        assert name in names, name
    assert "fast_serde/demo.py" not in names  # an example program now: examples/agent_sqlite/
    # The FAST_SERDE_INSTALL start-up hook: installed into site-packages itself (purelib).
    assert f"{dist_info.removesuffix('.dist-info')}.data/purelib/fast_serde_startup.pth" in names
    assert any(n.startswith("fast_serde/_native.") and n.endswith(".so") for n in names), names
    assert not any(n.startswith(("tests/", "python/", "crates/", "fixtures/")) for n in names)
    assert re.search(r"^fast-serde\s*=\s*fast_serde\.__main__:main\s*$", entry_points, re.M), entry_points
    # No unconditional dependency: LangGraph comes only with the `langgraph` extra.
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert requires and all("extra ==" in line for line in requires), requires


def _script_versions(script: str, variable: str) -> list[str]:
    """The default minor versions of a script's ``${VARIABLE:-3.10 3.11 ...}``."""
    text = (REPO_ROOT / "scripts" / script).read_text()
    match = re.search(r"\$\{" + variable + r":-([0-9. ]+)\}", text)
    assert match, (script, variable)
    return match.group(1).split()


@slow
def test_wheel_metadata_names_the_pythons_tested_and_wheeled(built):
    """The `Programming Language :: Python :: 3.X` classifiers are exactly the Pythons that
    `make test-matrix` tests and `make wheels` builds for, from Requires-Python's lower bound."""
    with zipfile.ZipFile(built["wheel"]) as wheel:
        meta = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = wheel.read(meta).decode()
    classifiers = [line.split(":", 1)[1].strip() for line in metadata.splitlines()
                   if line.startswith("Classifier:")]
    minors = [c.rsplit(" :: ", 1)[1] for c in classifiers
              if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)]
    tested = _script_versions("test_matrix.sh", "MATRIX_VERSIONS")
    assert minors == tested == _script_versions("wheels.sh", "WHEEL_VERSIONS"), (minors, tested)
    assert re.search(rf"^Requires-Python: >={re.escape(tested[0])}$", metadata, re.M), metadata
    assert "License :: OSI Approved :: MIT License" in classifiers
    assert "License :: OSI Approved :: Apache Software License" in classifiers
    # Project-URL takes absolute URLs only (core metadata); none is declared until the
    # repository has a public address.
    for line in metadata.splitlines():
        if line.startswith("Project-URL:"):
            assert re.search(r", https://\S+$", line), line


@slow
def test_langgraph_extra_resolves_to_what_is_installed_here(built):
    """`pip install fast-serde[langgraph]` on this Python: every requirement of the extra whose
    marker holds here accepts the version this venv runs the tests with (on 3.10: ormsgpack
    1.12.2, the last release for it), so the extra installs and is what was tested."""
    from importlib.metadata import version as installed

    from packaging.requirements import Requirement

    with zipfile.ZipFile(built["wheel"]) as wheel:
        meta = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = wheel.read(meta).decode()
    reqs = [Requirement(line.split(":", 1)[1].strip())
            for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    active = [r for r in reqs if r.marker is not None and r.marker.evaluate({"extra": "langgraph"})]
    assert {r.name for r in active} == {"langgraph-checkpoint", "ormsgpack"}, active
    for req in active:
        assert req.specifier.contains(installed(req.name), prereleases=True), (str(req), installed(req.name))


@slow
def test_wheel_imports_and_round_trips_in_a_fresh_venv(built):
    smoke = textwrap.dedent(
        """
        import json, sys
        import fast_serde
        from fast_serde import DecodeError, EncodeError, Ext, MAX_DEPTH, dumps, loads

        value = {"a": [1, -2**63, 2**64 - 1, 2.5, None, True, "ü", b"\\x00\\xff"],
                 "t": (1, 2), "e": Ext(5, b"xyz"), 3: {"nested": [[[]]]}}
        back = loads(dumps(value))
        assert back == {"a": [1, -2**63, 2**64 - 1, 2.5, None, True, "ü", b"\\x00\\xff"],
                        "t": [1, 2], "e": Ext(5, b"xyz"), 3: {"nested": [[[]]]}}, back
        try:
            loads(b"\\xc1")
        except DecodeError as exc:
            assert exc.offset == 0
        else:
            raise AssertionError("no DecodeError")
        try:
            dumps(object())
        except EncodeError:
            pass
        else:
            raise AssertionError("no EncodeError")
        try:
            import fast_serde.langgraph  # noqa: F401  (needs the langgraph extra)
        except ImportError:
            langgraph = "absent"
        else:
            langgraph = "present"
        print(json.dumps({"file": fast_serde.__file__, "version": fast_serde.__version__,
                          "max_depth": MAX_DEPTH, "langgraph": langgraph}))
        """
    )
    proc = _run([str(built["python"]), "-c", smoke], cwd=built["cwd"], env=_clean_env())
    report = json.loads(proc.stdout)
    assert Path(report["file"]).is_relative_to(built["venv"]), report  # not the source tree
    version = built["wheel"].name.split("-")[1]
    assert report["version"] == version != "0.0.0"
    assert report["max_depth"] == 255
    assert report["langgraph"] == "absent"


@slow
def test_wheel_installs_the_startup_hook_that_does_nothing_unless_asked(built):
    probe = textwrap.dedent(
        """
        import json, sys, sysconfig
        from pathlib import Path
        pth = Path(sysconfig.get_paths()["purelib"]) / "fast_serde_startup.pth"
        print(json.dumps({"pth": pth.is_file(),
                          "imported": sorted(m for m in sys.modules if m.startswith("fast_serde"))}))
        """
    )
    reports = {}
    for value in (None, "0", "1"):
        env = _clean_env()
        env.pop("FAST_SERDE_INSTALL", None)
        if value is not None:
            env["FAST_SERDE_INSTALL"] = value
        proc = _run([str(built["python"]), "-c", probe], cwd=built["cwd"], env=env)
        assert proc.stderr == "", proc.stderr  # no LangGraph here: activation waits silently
        reports[value] = json.loads(proc.stdout)
    assert all(r["pth"] for r in reports.values()), reports
    assert reports[None]["imported"] == reports["0"]["imported"] == []
    assert "fast_serde._startup" in reports["1"]["imported"]


@slow
def test_wheel_console_script_runs_without_langgraph(built):
    script = built["venv"] / "bin" / "fast-serde"
    assert script.exists()
    proc = _run([str(script), "--help"], cwd=built["cwd"], env=_clean_env())
    assert "inspect" in proc.stdout
    assert "demo" not in proc.stdout  # the demo is an example program (examples/agent_sqlite)
    proc = _run([str(script), "inspect", "--help"], cwd=built["cwd"], env=_clean_env())
    assert "--history" in proc.stdout
    (built["cwd"] / "x.sqlite").write_bytes(b"")
    proc = subprocess.run(
        [str(script), "inspect", "x.sqlite"], cwd=built["cwd"], env=_clean_env(),
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 1, proc
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "needs langgraph-checkpoint-sqlite" in proc.stderr


@slow
def test_sdist_has_everything_to_build(built):
    with tarfile.open(built["sdist"]) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    for name in (
        "pyproject.toml", "Cargo.toml", "Cargo.lock", "README.md",
        "crates/fast-serde-core/Cargo.toml", "crates/fast-serde-core/src/lib.rs",
        "crates/fast-serde-py/Cargo.toml", "crates/fast-serde-py/src/lib.rs",
        "python/fast_serde/__init__.py", "python/fast_serde/_native.pyi",
        "python/fast_serde/inspect_cli/__init__.py", "python/fast_serde/_startup.py",
        "python/fast_serde.data/purelib/fast_serde_startup.pth",  # a wheel built from it ships the hook
    ):
        assert name in names, name
    assert not any(n.startswith((".venv/", "target/")) for n in names)
    assert not any(n.endswith(".so") for n in names)


# --- the type stubs ----------------------------------------------------------------------


def _stub_tree() -> ast.Module:
    return ast.parse(STUB.read_text())


def _stub_params(fn: ast.FunctionDef) -> list[tuple[str, str]]:
    args = fn.args
    params = [(a.arg, "POSITIONAL_ONLY") for a in args.posonlyargs]
    params += [(a.arg, "POSITIONAL_OR_KEYWORD") for a in args.args]
    params += [(a.arg, "KEYWORD_ONLY") for a in args.kwonlyargs]
    return [p for p in params if p[0] != "self"]


def _runtime_params(obj) -> list[tuple[str, str]]:
    return [(p.name, p.kind.name) for p in inspect.signature(obj).parameters.values()]


def test_native_stub_matches_the_extension():
    tree = _stub_tree()
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    stub_all = next(
        ast.literal_eval(n.value) for n in tree.body
        if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "__all__"
    )
    assert sorted(stub_all) == sorted(native.__all__)
    for name in ("dumps", "loads", "zstd_compress", "zstd_decompress", "zstd_content_size"):
        assert _stub_params(functions[name]) == _runtime_params(getattr(native, name)), name
    codec = classes["LangGraphCodec"]
    methods = {n.name: n for n in codec.body if isinstance(n, ast.FunctionDef)}
    assert _stub_params(methods["__init__"]) == _runtime_params(native.LangGraphCodec)
    runtime_methods = {m for m in dir(native.LangGraphCodec) if not m.startswith("_")}
    assert set(methods) - {"__init__"} == runtime_methods
    for name in runtime_methods:
        runtime = _runtime_params(getattr(native.LangGraphCodec, name))
        assert _stub_params(methods[name]) == [p for p in runtime if p[0] != "self"], name
    assert {"EncodeError", "DecodeError"} <= set(classes)
    assert issubclass(native.EncodeError, TypeError) and issubclass(native.DecodeError, ValueError)


def test_codec_signature_lists_what_fast_serializer_passes(monkeypatch):
    from fast_serde.langgraph import _serializer as lg

    seen = []
    monkeypatch.setattr(lg, "LangGraphCodec", lambda *args, **kwargs: seen.append((args, kwargs)))
    lg.FastSerializer()
    (args, kwargs), = seen
    codec = next(n for n in _stub_tree().body if isinstance(n, ast.ClassDef) and n.name == "LangGraphCodec")
    init = next(n for n in codec.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    declared = {a.arg for a in init.args.kwonlyargs}
    assert not args and not init.args.args[1:] and not init.args.posonlyargs
    assert set(kwargs) == declared

