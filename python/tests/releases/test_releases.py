"""Releases of langgraph-checkpoint: the one place that names what each does
(fast_serde.langgraph._compat), and the probe that makes FastSerializer safe on a release it has
never seen (fast_serde.langgraph._probe).

The release matrix itself (every verified release in its own venv) is `make test-releases`. Here:
the probe on the installed (verified) release, and simulated future releases, each in a fresh
interpreter (future_release.py patches the installed parent before fast_serde is imported, so no
plan is cached before the probe), checked against the patched parent's own bytes and objects.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from fast_serde.langgraph import FastSerializer, _compat, _plans, _probe

TESTS = Path(__file__).resolve().parent


def test_installed_release_is_verified_and_not_probed() -> None:
    assert _compat.VERSION == version("langgraph-checkpoint")
    assert _compat.VERIFIED_RELEASE
    FastSerializer()
    assert _probe.verdict(FastSerializer) is _probe.NATIVE


def test_probe_finds_no_difference_on_the_installed_release() -> None:
    """Every probe agrees with the pinned parent: the probe set itself is sound (a probe value the
    parent writes or reads otherwise than FastSerializer would be a fast-serde bug here)."""
    v = _probe.run(FastSerializer)
    assert (v.dumps, v.loads, v.problems) == (True, True, ())
    assert v.kinds <= {_plans.SEND}  # Send is not probed when langgraph.types is not imported
    assert not _plans.PROBING


def test_probe_covers_every_plan_kind_and_ext_code() -> None:
    from fast_serde.langgraph import _probe_values

    import langgraph.types  # noqa: F401 - so that Send is probed

    values = [v for _, v in _probe_values.values()]
    kinds = {_probe._kind(v) for v in values}
    # Every kind the walker writes (no ext 7 on a release without _DeltaSnapshot).
    absent = {"FALLBACK"} | (set() if _compat.DELTA_SNAPSHOT else {"DELTA_SNAPSHOT"})
    written = {k for k, n in _probe._KIND_NAMES.items() if n not in absent}
    assert written <= kinds
    import ormsgpack
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    codes: set[int] = set()

    def hook(code: int, data: bytes) -> Any:
        codes.add(code)
        ormsgpack.unpackb(data, ext_hook=hook, option=ormsgpack.OPT_NON_STR_KEYS)
        return None

    for v in values:
        tag, data = JsonPlusSerializer().dumps_typed(v)
        if tag == "msgpack":
            ormsgpack.unpackb(data, ext_hook=hook, option=ormsgpack.OPT_NON_STR_KEYS)
    assert codes == set(range(8 if _compat.DELTA_SNAPSHOT else 7))


def test_probe_emits_no_event_logs_nothing_and_warns_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """An application's serde listeners, logs and warnings see nothing of the probe, though it
    reads blocked classes (whose check the parent makes loud)."""
    from langgraph.checkpoint.serde.event_hooks import register_serde_event_listener

    events: list[Any] = []
    unregister = register_serde_event_listener(events.append)
    try:
        with caplog.at_level("DEBUG"), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            v = _probe.run(FastSerializer)
    finally:
        unregister()
    assert v.problems == ()
    assert events == []
    assert [r.getMessage() for r in caplog.records if "_probe_values" in r.getMessage()] == []
    assert [str(w.message) for w in caught] == []


def test_probe_holds_when_the_allowlist_check_table_starts_afresh() -> None:
    """The probe's silent blocker outlives the bound of `_compat`'s table of allowlist checks
    (it once was dropped when the table filled up during a probe: then blocked reads met the
    parent's loud check and the probe misread the release)."""
    keep = []
    while len(_compat._checks_by_allowlist) < _compat._CHECKS_MAX - 1:
        keep.append({(f"m{len(keep)}", "x")})
        _compat.check_allowed(keep[-1], "datetime", "datetime")
    assert _probe.run(FastSerializer).problems == ()
    assert _compat._pinned == {}


def test_a_probe_that_cannot_run_sends_everything_to_the_parent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_compat, "VERSION", "4.9.0")
    monkeypatch.setattr(_compat, "VERIFIED_RELEASE", False)
    monkeypatch.setattr(_probe, "_verdict", None)

    def broken(jsonplus: Any, fast_cls: type) -> Any:
        raise TypeError("JsonPlusSerializer() got an unexpected keyword argument")

    monkeypatch.setattr(_probe, "_compare", broken)
    with pytest.warns(RuntimeWarning, match=r"langgraph-checkpoint 4\.9\.0 .*the probe failed"):
        f = FastSerializer()
    assert (f._native.dumps, f._native.loads) == (False, False)
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    f._codec = None  # the native codec is not touched: every call is the parent's
    value = {"k": [1, "x", b"b"]}
    assert f.dumps_typed(value) == JsonPlusSerializer().dumps_typed(value)
    assert f.loads_typed(f.dumps_typed(value)) == value


def future(scenario: str) -> dict[str, Any]:
    r = subprocess.run(
        [sys.executable, str(TESTS / "future_release.py"), scenario],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=TESTS,
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def assert_exactly_the_parent(out: dict[str, Any], changed: set[str]) -> None:
    """FastSerializer wrote the patched parent's bytes and read like it, for every value; the
    patch changed exactly the parent's bytes of `changed` (so the simulation is real)."""
    for name, r in out["values"].items():
        assert r["bytes_equal"], name
        assert r["fast_reads_parent"] and r["parent_reads_fast"], name
        assert r["strict_reads_equal"], name
        assert r["patch_changed_bytes"] == (name in changed), name


def assert_one_warning_naming_the_version(out: dict[str, Any], *needles: str) -> None:
    (warning,) = out["warnings"]  # three FastSerializers, one warning
    assert "langgraph-checkpoint 4.9.0" in warning
    for needle in needles:
        assert needle in warning


def test_unseen_release_that_writes_enums_by_qualname() -> None:
    out = future("enum_qualname")
    assert_exactly_the_parent(out, {"nested enum", "enum in a list"})
    assert_one_warning_naming_the_version(out, "Enum (ATTR_ARG)")
    assert out["verdict"]["dumps"] and out["verdict"]["loads"]
    assert "ATTR_ARG" in out["verdict"]["kinds"]


def test_unseen_release_with_a_new_ext_code() -> None:
    """Decimal written as a new ext 8 (and read back by the release's hook, which keeps the
    parent's allowlist checks): every read is the parent's, and so is every Decimal write, which
    the walker would write itself (STR_ARG) on every Python."""
    out = future("new_ext_code")
    assert_exactly_the_parent(out, {"decimal", "decimals in a dict"})
    assert out["verdict"]["loads"] is False
    assert out["values"]["decimal"]["read_back"] == "Decimal('2.50')"
    (warning,) = out["warnings"]
    assert "_check_allowed" not in warning  # the new ext code alone sends the reads back
    assert_one_warning_naming_the_version(out, "Decimal (STR_ARG)", "ext codes [8] are new")
    assert "STR_ARG" in out["verdict"]["kinds"]
    # The walker's own plan for a Decimal, before the probe: a heap type on 3.13 (a generic
    # `__getattribute__` wrapper in its __dict__) is no custom lookup.
    assert out["decimal_native"]


def test_unseen_release_whose_blocked_classes_read_otherwise() -> None:
    """An allowlist outcome changed (a blocked class reads as None): found by the probe's blocked
    reads, which reach no listener; every read is then the parent's, in strict mode too."""
    out = future("blocked_reads_none")
    assert_exactly_the_parent(out, set())
    assert_one_warning_naming_the_version(out, "every read", "blocked")
    assert out["verdict"]["loads"] is False and out["verdict"]["dumps"] is True
    changed = {n for n, r in out["values"].items() if r["patch_changed_strict_read"]}
    assert changed == {"nested enum", "enum in a list"}  # the classes strict mode blocks


def test_unseen_release_with_a_changed_option_flag() -> None:
    out = future("option_flag")
    assert_exactly_the_parent(out, {"nested enum", "enum in a list"})
    assert_one_warning_naming_the_version(out, "every write")
    assert out["verdict"]["dumps"] is False


def test_unseen_release_without_differences_stays_native_and_silent() -> None:
    out = future("unchanged")
    assert_exactly_the_parent(out, set())
    assert out["warnings"] == []
    assert out["verdict"]["dumps"] and out["verdict"]["loads"]
    assert out["verdict"]["seconds"] > 0  # the probe ran
    assert set(out["verdict"]["kinds"]) <= {"SEND"}


def test_version_key() -> None:
    assert _compat.version_key("4.3.2") == (4, 3, 2)
    assert _compat.version_key("5.0.0rc1") == (5, 0, 0)
    assert _compat.version_key("4.10") > _compat.version_key("4.9.9")
