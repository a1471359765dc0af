"""``FAST_SERDE_INSTALL``: the ``.pth`` start-up hook, ``fast_serde._startup`` and the import watcher
it uses (``fast_serde._import_hook``).

Each case runs in a fresh interpreter of this venv (where ``make build`` installed the hook), so
what the hook did at start-up is what the child sees.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from fast_serde import _import_hook, _startup

REPO_ROOT = Path(__file__).resolve().parents[3]
PTH_SOURCE = REPO_ROOT / "python" / "fast_serde.data" / "purelib" / "fast_serde_startup.pth"


def _child(code: str, value: str | None, extra_env: dict[str, str] | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAST_SERDE_")}
    if value is not None:
        env["FAST_SERDE_INSTALL"] = value
    env.update(extra_env or {})
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=120, check=False, env=env, cwd=REPO_ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["stderr"] = proc.stderr
    return out


_AT_START = """
    import json, sys
    at_start = {
        "fast_serde": sorted(m for m in sys.modules if m.startswith("fast_serde")),
        "langgraph": any(m.startswith(("langgraph", "langchain")) for m in sys.modules),
        "watcher": any(type(f).__name__ == "_Watcher" for f in sys.meta_path),
    }
    from langgraph.checkpoint.memory import InMemorySaver
    at_start["serde"] = type(InMemorySaver().serde).__name__
    print(json.dumps(at_start))
"""


def test_the_hook_is_installed_in_this_environment():
    installed = Path(sysconfig.get_paths()["purelib"]) / "fast_serde_startup.pth"
    assert installed.read_text() == PTH_SOURCE.read_text()
    assert installed.read_text().count("\n") == 1 and installed.read_text().startswith("import ")


@pytest.mark.parametrize("value", [None, "", "0", "false", "FALSE", " no ", "off"])
def test_unset_or_false_imports_nothing(value):
    out = _child(_AT_START, value)
    assert out["fast_serde"] == [] and not out["watcher"] and not out["langgraph"], out
    assert out["serde"] == "JsonPlusSerializer"
    assert out["stderr"] == ""


@pytest.mark.parametrize("value", ["1", "true", "Yes", " on "])
def test_set_activates_without_importing_langgraph(value):
    out = _child(_AT_START, value)
    # Only the package (whose native extension loads on first use), the policy, the watcher and
    # the names of the modules it watches.
    assert out["fast_serde"] == [
        "fast_serde", "fast_serde._import_hook", "fast_serde._startup", "fast_serde._watched"
    ], out
    assert out["watcher"] and not out["langgraph"], out
    assert out["serde"] == "FastSerializer"
    assert out["stderr"] == ""


def test_unknown_value_warns_once_and_installs_nothing():
    out = _child(_AT_START, "maybe")
    assert out["serde"] == "JsonPlusSerializer"
    assert out["stderr"].count("RuntimeWarning") == 1, out["stderr"]
    assert "FAST_SERDE_INSTALL='maybe'" in out["stderr"]
    # It must not read as a failed pip install.
    assert "is not understood" in out["stderr"]
    assert "is not installed" not in out["stderr"]


@pytest.mark.parametrize(
    "first", ["langgraph.checkpoint.sqlite", "langgraph.checkpoint.sqlite.aio", "langgraph.graph"]
)
def test_every_stock_saver_and_the_pinned_sqlite_serde_whatever_is_imported_first(first):
    # Importing a SQLite saver module first runs install() inside that module's own import (it
    # imports the checkpoint base): its pinned JsonPlusSerializer global is patched at its end.
    out = _child(
        f"""
        import json, sqlite3, inspect
        import {first}
        import langgraph.checkpoint.sqlite as lg_sqlite
        import langgraph.checkpoint.sqlite.aio as lg_aio
        import langgraph.checkpoint.base as base
        from langgraph.checkpoint.base import BaseCheckpointSaver
        saver = lg_sqlite.SqliteSaver(sqlite3.connect(":memory:"))
        print(json.dumps({{
            "serde": type(saver.serde).__name__, "pinned": type(saver.jsonplus_serde).__name__,
            "aio_global": lg_aio.JsonPlusSerializer.__name__,
            # the watched module shows its own loader again, and its source is readable
            "loader": type(base.__loader__).__name__, "spec_loader": type(base.__spec__.loader).__name__,
            "source": "class BaseCheckpointSaver" in inspect.getsource(BaseCheckpointSaver),
        }}))
        """,
        "1",
    )
    assert out["serde"] == out["pinned"] == out["aio_global"] == "FastSerializer", out
    assert out["loader"] == out["spec_loader"] == "SourceFileLoader"
    assert out["source"]


def test_activation_after_langgraph_was_imported_installs_at_once():
    out = _child(
        """
        import json
        from langgraph.checkpoint.memory import InMemorySaver
        from fast_serde import _import_hook, _startup
        _startup.activate()
        print(json.dumps({"serde": type(InMemorySaver().serde).__name__}))
        """,
        None, {"FAST_SERDE_INSTALL": "1"},
    )
    assert out["serde"] == "FastSerializer"


def test_a_failing_install_warns_and_leaves_the_import_working():
    out = _child(
        """
        import json, fast_serde.langgraph._install as inst
        def broken():
            raise RuntimeError("boom")
        inst.install = broken
        from langgraph.checkpoint.memory import InMemorySaver
        print(json.dumps({"serde": type(InMemorySaver().serde).__name__}))
        """,
        "1",
    )
    assert out["serde"] == "JsonPlusSerializer"
    assert "install() failed (RuntimeError: boom)" in out["stderr"]


def test_when_imported_runs_at_once_for_a_loaded_module_and_later_for_a_new_one(tmp_path, monkeypatch):
    seen = []
    assert _import_hook.when_imported("json", seen.append) is True
    assert seen == [sys.modules["json"]]

    (tmp_path / "fs_watched_mod.py").write_text("VALUE = 41\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _import_hook.when_imported("fs_watched_mod", lambda m: seen.append(m.VALUE + 1)) is True
    try:
        import fs_watched_mod  # noqa: F401

        assert seen[-1] == 42
        assert type(fs_watched_mod.__loader__).__name__ == "SourceFileLoader"
    finally:
        sys.modules.pop("fs_watched_mod", None)
    assert "fs_watched_mod" not in _import_hook._callbacks


def test_forget_removes_a_pending_callback():
    before = list(sys.meta_path)
    _import_hook.when_imported("fs_never_imported_mod", print)
    assert "fs_never_imported_mod" in _import_hook._callbacks
    _import_hook.forget("fs_never_imported_mod", print)
    assert "fs_never_imported_mod" not in _import_hook._callbacks
    if not _import_hook._callbacks:
        assert sys.meta_path == [f for f in before if not isinstance(f, _import_hook._Watcher)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, False), ("", False), ("0", False), ("Off", False), ("1", True), ("TRUE", True),
     ("2", None), ("enabled", None)],
)
def test_enabled_reads_the_variable(value, expected):
    assert _startup.enabled(value) is expected


def test_pth_and_module_agree_on_the_false_words():
    # The .pth line must not import fast_serde for any value _startup treats as off.
    line = PTH_SOURCE.read_text()
    words = line.split("not in (", 1)[1].split(")", 1)[0]
    assert {w.strip().strip('"') for w in words.split(",")} == set(_startup._OFF)
