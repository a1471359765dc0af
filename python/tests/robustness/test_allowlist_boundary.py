"""The msgpack allowlist as a security boundary: in strict mode no class outside the allowlist is
imported or constructed from any ext code; the method ext (3) never calls a method outside
``SAFE_MSGPACK_METHODS``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import ormsgpack
import pytest
from langgraph.checkpoint.serde import _msgpack as lg_msgpack
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from fast_serde.langgraph import FastSerializer
from robustness_helpers import REPO_ROOT, _decode_with_events, packb, same


PROBE_SOURCE = '''
import os

def _log(what):
    with open(os.environ["FAST_SERDE_PROBE_LOG"], "a") as f:
        f.write(what + "\\n")

_log("import")


class Probe:
    def __init__(self, *args, **kwargs):
        _log("construct")

    @classmethod
    def model_construct(cls, *args, **kwargs):
        _log("construct")
        return object.__new__(cls)

    @classmethod
    def construct(cls, *args, **kwargs):
        _log("construct")
        return object.__new__(cls)

    @classmethod
    def evil(cls, *args, **kwargs):
        _log("method")
        return "evil"

    @classmethod
    def fromisoformat(cls, *args, **kwargs):
        _log("method")
        return "evil"


def evil(*args, **kwargs):
    _log("call")
    return "evil"
'''


@pytest.fixture
def probe(tmp_path, monkeypatch):
    """A module on sys.path that records its import and every construction / call in a file."""
    name = f"fast_serde_probe_{uuid.uuid4().hex[:12]}"
    (tmp_path / f"{name}.py").write_text(PROBE_SOURCE)
    log = tmp_path / "probe.log"
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("FAST_SERDE_PROBE_LOG", str(log))
    ns = SimpleNamespace(
        module=name,
        path=tmp_path,
        log=log,
        records=lambda: log.read_text().split() if log.exists() else [],
    )
    yield ns
    sys.modules.pop(name, None)


def probe_payloads(module: str) -> dict[str, bytes]:
    """Every ext code's way to reach the probe: constructors (0, 1, 2), the method ext (3),
    pydantic v1/v2 (4, 5), a bare function, and the probe nested inside an allowed type."""

    def e(code: int, tup: tuple) -> bytes:
        return packb(ormsgpack.Ext(code, packb(tup)))

    return {
        "0-single-arg": e(0, (module, "Probe", "arg")),
        "1-pos-args": e(1, (module, "Probe", ["a", 1])),
        "2-kw-args": e(2, (module, "Probe", {"a": 1})),
        "3-method": e(3, (module, "Probe", "arg", "evil")),
        "3-safe-method-name": e(3, (module, "Probe", "2024-01-01", "fromisoformat")),
        "3-function-call": e(3, (module, "evil", "arg", "__call__")),
        "4-pydantic-v1": e(4, (module, "Probe", {"a": 1})),
        "5-pydantic-v2": e(5, (module, "Probe", {"a": 1}, "model_validate_json")),
        "0-function": e(0, (module, "evil", "arg")),
        "nested-in-safe-type": packb(ormsgpack.Ext(0, packb(("builtins", "frozenset", [ormsgpack.Ext(0, packb((module, "Probe", "x")))])))),
        "in-map": packb({"k": [ormsgpack.Ext(2, packb((module, "Probe", {"b": 2})))]}),
    }


STRICT_CONFIGS = {
    "allowed=None": dict(allowed_msgpack_modules=None),
    "allowed=[other]": dict(allowed_msgpack_modules=[("some.other.module", "Thing")]),
    "allowed=[same module, other name]": "same-module",
    "allowed=None, validate_models=False": dict(allowed_msgpack_modules=None, validate_models=False),
    "allowed=None + with_msgpack_allowlist([other])": "with-allowlist",
}


def _make(config: Any, module: str, cls: type) -> JsonPlusSerializer:
    if config == "same-module":
        return cls(allowed_msgpack_modules=[(module, "NotProbe")])
    if config == "with-allowlist":
        return cls(allowed_msgpack_modules=None).with_msgpack_allowlist([("some.other.module", "Thing")])
    kwargs = dict(config)
    if cls is JsonPlusSerializer:
        kwargs.pop("validate_models", None)
    return cls(**kwargs)


@pytest.mark.parametrize("config", sorted(STRICT_CONFIGS))
def test_strict_mode_never_imports_or_constructs_outside_the_allowlist(probe, config):
    cfg = STRICT_CONFIGS[config]
    fast = _make(cfg, probe.module, FastSerializer)
    parent = _make(cfg, probe.module, JsonPlusSerializer)
    # Another serializer that does allow the probe must not share its classes with `fast`.
    allowing = FastSerializer(allowed_msgpack_modules=[(probe.module, "Probe")])
    for name, data in probe_payloads(probe.module).items():
        ours, our_events = _decode_with_events(fast, data)
        assert probe.records() == [], f"{name}: {probe.records()}"
        assert probe.module not in sys.modules, f"{name}: the probe module was imported"
        ref, parent_events = _decode_with_events(parent, data)
        assert probe.records() == [], f"{name}: the parent imported it: {probe.records()}"
        assert ours[0] == ref[0] == "ok", (name, ours, ref)
        assert same(ours[1], ref[1]), (name, ours[1], ref[1])
        assert our_events == parent_events, name
    # Positive control: the same payloads do reach the probe when it is allowed...
    allowing.loads_typed(("msgpack", probe_payloads(probe.module)["0-single-arg"]))
    assert probe.records() == ["import", "construct"]
    # ...and doing so caches nothing that the strict serializer would use.
    log_len = len(probe.records())
    for data in probe_payloads(probe.module).values():
        fast.loads_typed(("msgpack", data))
    assert len(probe.records()) == log_len


@pytest.mark.parametrize("mode", ["permissive", "allowlisted", "strict"])
def test_method_ext_never_calls_a_method_outside_safe_methods(probe, mode):
    assert ("datetime", "datetime", "fromisoformat") in lg_msgpack.SAFE_MSGPACK_METHODS
    kwargs: dict[str, Any] = {
        "permissive": {},
        "allowlisted": {"allowed_msgpack_modules": [(probe.module, "Probe"), (probe.module, "evil")]},
        "strict": {"allowed_msgpack_modules": None},
    }[mode]
    fast, parent = FastSerializer(**kwargs), JsonPlusSerializer(**kwargs)
    payloads = probe_payloads(probe.module)
    for name in ("3-method", "3-safe-method-name", "3-function-call"):
        data = payloads[name]
        ours, our_events = _decode_with_events(fast, data)
        ref, parent_events = _decode_with_events(parent, data)
        assert "method" not in probe.records() and "call" not in probe.records(), (name, probe.records())
        # Blocked before anything is imported, in every mode (as the parent does).
        assert probe.records() == [], (name, probe.records())
        assert same(ours, ref) and our_events == parent_events, name
        assert any(ev["kind"] == "msgpack_method_blocked" for ev in our_events), our_events
    # The allowed method still works.
    ok = packb(ormsgpack.Ext(3, packb(("datetime", "datetime", "2024-01-02T03:04:05", "fromisoformat"))))
    assert fast.loads_typed(("msgpack", ok)) == parent.loads_typed(("msgpack", ok))


def test_permissive_mode_constructs_like_the_parent(probe):
    """The control case: the default (permissive) mode of both serializers does import and call
    what the checkpoint names (JsonPlusSerializer's documented behaviour), never methods."""
    payloads = probe_payloads(probe.module)
    for name in ("0-single-arg", "1-pos-args", "2-kw-args", "4-pydantic-v1", "5-pydantic-v2", "0-function"):
        for ser in (FastSerializer(), JsonPlusSerializer()):
            probe.log.unlink(missing_ok=True)
            ser.loads_typed(("msgpack", payloads[name]))
            recs = probe.records()
            assert recs and set(recs) <= {"import", "construct", "call"}, (name, type(ser).__name__, recs)
            assert "construct" in recs or "call" in recs, (name, recs)


_SUBPROCESS_SCRIPT = textwrap.dedent(
    """
    import json, logging, sys
    logging.disable(logging.CRITICAL)
    sys.path.insert(0, sys.argv[1])
    sys.path.insert(0, sys.argv[2])
    from robustness_helpers import _outcome
    from test_allowlist_boundary import probe_payloads
    from fast_serde.langgraph import FastSerializer
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
    out = {}
    for cls in (FastSerializer, JsonPlusSerializer):
        ser = cls()
        for name, data in probe_payloads(sys.argv[3]).items():
            kind, value = _outcome(lambda: ser.loads_typed(("msgpack", data)))
            out[cls.__name__ + ":" + name] = [kind, repr(value)[:200]]
    out["imported"] = sys.argv[3] in sys.modules
    print(json.dumps(out))
    """
)


def _run_probe_subprocess(probe: SimpleNamespace, strict: bool | None) -> dict[str, Any]:
    env = dict(os.environ)
    env.pop("LANGGRAPH_STRICT_MSGPACK", None)
    if strict is not None:
        env["LANGGRAPH_STRICT_MSGPACK"] = "true" if strict else "false"
    env["FAST_SERDE_PROBE_LOG"] = str(probe.log)
    proc = subprocess.run(
        [sys.executable, "-c", _SUBPROCESS_SCRIPT, str(probe.path), str(Path(__file__).parent), probe.module],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_strict_env_variable_blocks_every_ext_code_in_a_fresh_process(probe):
    out = _run_probe_subprocess(probe, strict=True)
    assert probe.records() == [], probe.records()
    assert out.pop("imported") is False
    names = probe_payloads(probe.module)
    for name in names:
        ours, ref = out[f"FastSerializer:{name}"], out[f"JsonPlusSerializer:{name}"]
        assert ours == ref, (name, ours, ref)
        assert ours[0] == "ok" and "Probe" not in ours[1] and "evil" not in ours[1], (name, ours)
    # Control: the same process without the variable is permissive and reaches the probe.
    out = _run_probe_subprocess(probe, strict=None)
    assert out["imported"] is True
    assert "construct" in probe.records() and "method" not in probe.records(), probe.records()
