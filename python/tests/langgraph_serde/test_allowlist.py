"""3. The msgpack allowlist: blocked classes are never constructed, allowed ones are constructed as
the parent constructs them, with the same serde events and jsonplus warnings; the method ext (3);
``with_msgpack_allowlist``; LANGGRAPH_STRICT_MSGPACK in this process and in a fresh one."""

from __future__ import annotations

import datetime
import pathlib
import sys
import textwrap
import uuid
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde import _msgpack as _lg_msgpack
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer, _msgpack_enc
from langgraph.types import Send

import lg_models as M
from fast_serde.langgraph import FastSerializer
from lg_helpers import (
    DT,
    RECONSTRUCTS,
    WARNS_ONCE,
    _run_py,
    assert_same_outcome,
    ext,
    pair,
    run_logged,
)
from lg_probes import (
    CONSTRUCTED,
    THIS,
    ProbeData,
    ProbeModel,
    ProbePlain,
    _allowed_list,
    _compare_logged,
    plain_probe_bytes,
    probe_payloads,
)
from lg_strategies import assert_same


BLOCKING_MODES = [
    pytest.param({"allowed_msgpack_modules": None}, id="allowed=None"),
    pytest.param({"allowed_msgpack_modules": [("lg_models", "Point"), M.Profile]}, id="explicit-list-without-probe"),
    pytest.param({"allowed_msgpack_modules": [(THIS, "Other")]}, id="explicit-list-other-name"),
]


@pytest.mark.parametrize("mode", BLOCKING_MODES)
@pytest.mark.parametrize("index", range(6))
def test_blocked_probe_never_constructed(mode: dict[str, Any], index: int) -> None:
    value = probe_payloads()[index]
    j, f = pair(**mode)
    data = j.dumps_typed(value)
    assert f.dumps_typed(value) == data
    CONSTRUCTED.clear()
    rf = f.loads_typed(data)
    assert CONSTRUCTED == [], "fast constructed a blocked class"
    rj = j.loads_typed(data)
    assert CONSTRUCTED == [], "parent constructed a blocked class"
    assert_same(rf, rj)


@pytest.mark.parametrize("mode", BLOCKING_MODES)
def test_blocked_plain_class_ext0(mode: dict[str, Any]) -> None:
    j, f = pair(**mode)
    data = ("msgpack", plain_probe_bytes({"a": 1}))
    rf = f.loads_typed(data)
    assert CONSTRUCTED == []
    assert_same(rf, j.loads_typed(data))
    assert rf == {"a": 1}


@pytest.mark.parametrize("index", range(6))
def test_allowed_probe_constructed_like_parent(index: int) -> None:
    value = probe_payloads()[index]
    j, f = pair(allowed_msgpack_modules=_allowed_list())
    data = j.dumps_typed(value)
    rf = f.loads_typed(data)
    fast_calls = list(CONSTRUCTED)
    CONSTRUCTED.clear()
    rj = j.loads_typed(data)
    assert_same(rf, rj)
    assert_same(rf, value, fields_set=False)
    assert fast_calls == CONSTRUCTED


def test_allowed_plain_class_ext0() -> None:
    j, f = pair(allowed_msgpack_modules=_allowed_list())
    data = ("msgpack", plain_probe_bytes([1, 2]))
    rf = f.loads_typed(data)
    assert CONSTRUCTED == [("ProbePlain", [1, 2])]
    assert rf == j.loads_typed(data) == ProbePlain([1, 2])


@pytest.mark.parametrize("index", range(6))
def test_permissive_default_constructs_warns_and_emits_like_parent(caplog: pytest.LogCaptureFixture, index: int) -> None:
    value = probe_payloads()[index]
    data = JsonPlusSerializer().dumps_typed(value)
    out, events, logs = _compare_logged(caplog, {}, data)
    assert out[0] == "ok"
    assert_same(out[1], value, fields_set=False)
    assert events and all(e["kind"] == "msgpack_unregistered_allowed" for e in events)
    assert any("Deserializing unregistered type" in m for _, m in logs)


def test_permissive_warning_once_events_every_time(caplog: pytest.LogCaptureFixture) -> None:
    """Two probes in one value: one warning per type (de-duplicated), one event per object."""
    value = [ProbeModel(x=1), ProbeModel(x=2), ProbeModel(x=3)]
    data = JsonPlusSerializer().dumps_typed(value)
    _, events, logs = _compare_logged(caplog, {}, data)
    assert len(events) == 3
    assert len([m for _, m in logs if "ProbeModel" in m]) == (1 if WARNS_ONCE else 3)


@pytest.mark.parametrize("mode", BLOCKING_MODES)
def test_blocked_warns_and_emits_like_parent(caplog: pytest.LogCaptureFixture, mode: dict[str, Any]) -> None:
    data = JsonPlusSerializer().dumps_typed({"a": [ProbeModel(x=1), ProbeData(2)], "b": ProbeModel(x=2)})
    out, events, logs = _compare_logged(caplog, mode, data)
    assert CONSTRUCTED == []
    assert [e["kind"] for e in events] == ["msgpack_blocked"] * 3
    assert any("Blocked deserialization" in m for _, m in logs)


def test_safe_types_emit_nothing(caplog: pytest.LogCaptureFixture) -> None:
    data = JsonPlusSerializer().dumps_typed([HumanMessage("x"), uuid.UUID(int=1), DT, {1, 2}, pathlib.Path("/a"), Send("n", 1)])
    for mode in ({}, {"allowed_msgpack_modules": None}):
        _, events, logs = _compare_logged(caplog, mode, data)
        assert events == [] and logs == []


def test_unimportable_class_warns_like_parent(caplog: pytest.LogCaptureFixture) -> None:
    for code, payload in [
        (0, ("no_such_module_xyz", "Thing", 5)),
        (1, ("no_such_module_xyz", "Thing", [1])),
        (2, (THIS, "NoSuchName", {"a": 1})),
        (5, ("no_such_module_xyz", "Model", {"a": 1}, "model_validate_json")),
        (4, ("no_such_module_xyz", "V1", {"a": 1})),
    ]:
        data = ("msgpack", ext(code, _msgpack_enc(payload)))
        keys = [(payload[0], payload[1])]
        for mode in ({}, {"allowed_msgpack_modules": None}, {"allowed_msgpack_modules": [keys[0]]}):
            j, f = pair(**mode)
            out_f, ev_f, log_f = run_logged(caplog, f, data, keys)
            out_j, ev_j, log_j = run_logged(caplog, j, data, keys)
            assert_same_outcome(out_f, out_j)
            blocked = mode.get("allowed_msgpack_modules", True) is None
            assert out_f == ("ok", payload[2] if RECONSTRUCTS or blocked or code in (4, 5) else None)
            assert (ev_f, log_f) == (ev_j, log_j), (code, mode)


# --- the method ext (3) ------------------------------------------------------------------

METHOD_PAYLOADS = [
    pytest.param(("builtins", "print", "x", "__call__"), id="builtins.print"),
    pytest.param((THIS, "ProbePlain", "arg", "boom"), id="probe-classmethod"),
    pytest.param(("os", "system", "echo pwned-by-ext3", "__call__"), id="os.system-call"),
    pytest.param(("datetime", "date", "2024-01-01", "fromisoformat"), id="date.fromisoformat-not-allowed"),
    pytest.param(("datetime", "datetime", "2024-01-01T00:00:00", "now"), id="datetime.now"),
]

METHOD_MODES = [
    pytest.param({}, id="permissive"),
    pytest.param({"allowed_msgpack_modules": None}, id="strict"),
    pytest.param({"allowed_msgpack_modules": [(THIS, "ProbePlain"), ("builtins", "print"), ("os", "system")]}, id="class-allowed"),
    pytest.param({"allowed_msgpack_modules": True}, id="allow-all"),
]


@pytest.mark.parametrize("mode", METHOD_MODES)
@pytest.mark.parametrize("payload", METHOD_PAYLOADS)
def test_method_ext_never_calls_unsafe_methods(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str], mode: dict[str, Any], payload: tuple[Any, ...]
) -> None:
    data = ("msgpack", ext(3, _msgpack_enc(payload)))
    out, events, logs = _compare_logged(caplog, mode, data)
    assert CONSTRUCTED == []
    assert out == ("ok", payload[2])
    assert events == [{"kind": "msgpack_method_blocked", "module": payload[0], "name": payload[1], "method": payload[3]}]
    captured = capfd.readouterr()
    assert "pwned" not in captured.out and captured.out.strip() != "x"


def test_method_ext_datetime_fromisoformat_is_called() -> None:
    for s in ("2024-01-01T00:00:00", "2024-01-01T00:00:00.5+05:30", "2024-01-01"):
        data = ("msgpack", ext(3, _msgpack_enc(("datetime", "datetime", s, "fromisoformat"))))
        for mode in ({}, {"allowed_msgpack_modules": None}):
            j, f = pair(**mode)
            assert_same(f.loads_typed(data), j.loads_typed(data))
            try:
                expected = datetime.datetime.fromisoformat(s)
            except ValueError:
                # Python 3.10's fromisoformat reads fewer forms (no "...00.5+05:30"): then the
                # parent's fallback for a failed method call, whatever it returns here.
                expected = j.loads_typed(data)
                assert sys.version_info < (3, 11) and not isinstance(expected, datetime.datetime)
            assert f.loads_typed(data) == expected


def test_method_ext_bad_isoformat_argument_like_parent(caplog: pytest.LogCaptureFixture) -> None:
    for arg in ("not a date", 5, None, ["2024-01-01"]):
        data = ("msgpack", ext(3, _msgpack_enc(("datetime", "datetime", arg, "fromisoformat"))))
        out, _, _ = _compare_logged(caplog, {}, data)
        assert out[0] == "ok"


# --- with_msgpack_allowlist --------------------------------------------------------------


def test_with_msgpack_allowlist_returns_fast_serializer_that_allows() -> None:
    data = JsonPlusSerializer().dumps_typed([ProbeModel(x=1), ProbeData(2)])
    CONSTRUCTED.clear()
    strict = FastSerializer(allowed_msgpack_modules=None)
    assert strict.loads_typed(data) == [{"x": 1, "tag": ""}, {"x": 2}]
    assert CONSTRUCTED == []

    allowed = strict.with_msgpack_allowlist([(THIS, "ProbeModel"), ProbeData])
    assert type(allowed) is FastSerializer and allowed is not strict
    parent = JsonPlusSerializer(allowed_msgpack_modules=None).with_msgpack_allowlist([(THIS, "ProbeModel"), ProbeData])
    rf = allowed.loads_typed(data)
    calls = list(CONSTRUCTED)
    CONSTRUCTED.clear()
    rj = parent.loads_typed(data)
    assert calls == CONSTRUCTED and calls
    assert_same(rf, rj)
    assert rf == [ProbeModel(x=1), ProbeData(2)]
    # The original is unchanged (its cache must not have been shared).
    CONSTRUCTED.clear()
    assert strict.loads_typed(data) == [{"x": 1, "tag": ""}, {"x": 2}]
    assert CONSTRUCTED == []
    # Only the named classes: ProbePlain stays blocked.
    assert allowed.loads_typed(("msgpack", plain_probe_bytes("z"))) == "z"


def test_with_msgpack_allowlist_merges_and_keeps_settings() -> None:
    base = FastSerializer(allowed_msgpack_modules=[(THIS, "ProbeData")], pickle_fallback=True)
    merged = base.with_msgpack_allowlist([(THIS, "ProbeModel")])
    parent = JsonPlusSerializer(allowed_msgpack_modules=[(THIS, "ProbeData")], pickle_fallback=True).with_msgpack_allowlist([(THIS, "ProbeModel")])
    assert merged._allowed_msgpack_modules == parent._allowed_msgpack_modules
    assert merged.pickle_fallback is True and merged.validate_models is True
    assert merged.dumps_typed({"p": object}) == parent.dumps_typed({"p": object})
    assert merged.dumps_typed({"p": object})[0] == "pickle"
    # no-op merges return self, like the parent
    assert base.with_msgpack_allowlist([(THIS, "ProbeData")]) is base
    permissive = FastSerializer()
    assert permissive.with_msgpack_allowlist([(THIS, "ProbeModel")]) is permissive


def test_checkpointer_with_allowlist_keeps_fast_serializer() -> None:
    saver = InMemorySaver(serde=FastSerializer(allowed_msgpack_modules=None))
    clone = saver.with_allowlist({(THIS, "ProbeModel")})
    assert isinstance(clone.serde, FastSerializer)
    data = JsonPlusSerializer().dumps_typed(ProbeModel(x=4))
    assert clone.serde.loads_typed(data) == ProbeModel(x=4)
    assert saver.serde.loads_typed(data) == {"x": 4, "tag": ""}


def test_custom_unpack_ext_hook_is_used() -> None:
    seen: list[int] = []

    def hook(code: int, data: bytes) -> Any:
        seen.append(code)
        return ("hooked", code)

    j = JsonPlusSerializer(__unpack_ext_hook__=hook)
    f = FastSerializer(__unpack_ext_hook__=hook)
    data = j.dumps_typed([uuid.UUID(int=1), M.Point(1, 2), DT])
    assert f.dumps_typed([uuid.UUID(int=1), M.Point(1, 2), DT]) == data
    rf = f.loads_typed(data)
    rj = j.loads_typed(data)
    assert rf == rj == [("hooked", 0), ("hooked", 2), ("hooked", 3)]


_STRICT_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from langgraph.checkpoint.serde import _msgpack
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
    from fast_serde.langgraph import FastSerializer
    import lg_models as M

    out = {"strict": _msgpack.STRICT_MSGPACK_ENABLED}
    value = {"p": M.Profile(name="x"), "pt": M.Point(1, 2), "u": __import__("uuid").UUID(int=1)}
    data = JsonPlusSerializer().dumps_typed(value)
    out["same_bytes"] = FastSerializer().dumps_typed(value) == data
    rf = FastSerializer().loads_typed(data)
    rj = JsonPlusSerializer().loads_typed(data)
    out["fast"] = repr(rf)
    out["parent"] = repr(rj)
    allowed = FastSerializer().with_msgpack_allowlist([("lg_models", "Profile"), M.Point])
    out["allowed"] = repr(allowed.loads_typed(data))
    out["allowed_types"] = [type(v).__name__ for v in allowed.loads_typed(data).values()]
    print(json.dumps(out))
    """
)


@pytest.mark.parametrize("index", range(6))
def test_strict_flag_default_in_process(monkeypatch: pytest.MonkeyPatch, index: int) -> None:
    """STRICT_MSGPACK_ENABLED (what the env var sets) makes the default constructor strict."""
    monkeypatch.setattr(_lg_msgpack, "STRICT_MSGPACK_ENABLED", True)
    value = probe_payloads()[index]
    j, f = pair()
    assert f._allowed_msgpack_modules is None and j._allowed_msgpack_modules is None
    data = j.dumps_typed(value)
    rf = f.loads_typed(data)
    assert CONSTRUCTED == []
    assert_same(rf, j.loads_typed(data))


@pytest.mark.parametrize(("env_value", "strict"), [("true", True), ("0", False)])
def test_strict_env_var_subprocess(tmp_path: pathlib.Path, env_value: str, strict: bool) -> None:
    out = _run_py(_STRICT_SCRIPT, {"LANGGRAPH_STRICT_MSGPACK": env_value}, tmp_path)
    assert out["strict"] is strict
    assert out["same_bytes"] is True
    assert out["fast"] == out["parent"]
    if strict:
        assert "Profile(" not in out["fast"] and "'name': 'x'" in out["fast"]
        assert "Point(" not in out["fast"] and "UUID(" in out["fast"]
    else:
        assert "Profile(" in out["fast"] and "Point(" in out["fast"]
    assert out["allowed_types"] == ["Profile", "Point", "UUID"]
