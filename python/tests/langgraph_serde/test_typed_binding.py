"""Issue 21, item 1: ``dumps_typed``/``loads_typed`` bound on each FastSerializer as native
methods (``_native.TypedBinding``, crates/fast-serde-core/src/langgraph/typed.rs).

What must hold: a saver's ``serde.dumps_typed(x)`` is the native method; its results and
exceptions are JsonPlusSerializer's (bytes for bytes, objects for objects, exception types and
messages) for every tag and every malformed ``data``; the binding follows the serializer's
settings (a subclass's override, copies, ``with_msgpack_allowlist`` clones, ``install()``,
compression set after construction, the probe's verdict); a dropped serializer is collected."""

from __future__ import annotations

import copy
import gc
import pickle
import weakref
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

import lg_models as M
from fast_serde import _native
from fast_serde.langgraph import FastSerializer, _compression, reset_stats, stats
from fast_serde.langgraph._probe import Verdict
from lg_helpers import outcome, param_id
from lg_strategies import assert_same

COPIES = {"copy": copy.copy, "deepcopy": copy.deepcopy, "pickle": lambda x: pickle.loads(pickle.dumps(x))}

VALUES: list[Any] = [
    None, True, False, 0, -1, 2**63, 1.5, float("inf"), "", "hello", "é\u2028", b"", b"raw",
    bytearray(b"ba"), [1, "a", None], {"step": 3, "node": "agent"}, (1, 2), {1: "int key"},
    HumanMessage("hi", id="h-1"),
    AIMessage("x", id="a-1", tool_calls=[{"name": "t", "args": {"a": 1}, "id": "c-1"}]),
    M.Address(city="Oslo"),
]


def _is_bound(serde: FastSerializer) -> tuple[bool, bool]:
    d = vars(serde)
    return (
        type(d.get("dumps_typed", None).__self__ if "dumps_typed" in d else None) is _native.TypedBinding,
        type(d.get("loads_typed", None).__self__ if "loads_typed" in d else None) is _native.TypedBinding,
    )


def _same_outcome(fast: tuple[str, Any], parent: tuple[str, Any]) -> None:
    assert fast[0] == parent[0], (fast, parent)
    if parent[0] == "raise":
        assert type(fast[1]) is type(parent[1]) and str(fast[1]) == str(parent[1]), (fast, parent)
    else:
        assert_same(fast[1], parent[1])


def test_a_serializer_answers_with_native_methods() -> None:
    f = FastSerializer()
    assert _is_bound(f) == (True, True)
    assert f.dumps_typed.__self__ is f.loads_typed.__self__
    # The class methods stay, for subclasses, super() and the binding's own fallbacks.
    assert FastSerializer.dumps_typed(f, {"a": 1}) == f.dumps_typed({"a": 1})


@pytest.mark.parametrize("value", VALUES, ids=param_id)
@pytest.mark.parametrize("pickle_fallback", [False, True])
def test_every_value_both_ways_like_parent(value: Any, pickle_fallback: bool) -> None:
    j, f = JsonPlusSerializer(pickle_fallback=pickle_fallback), FastSerializer(pickle_fallback=pickle_fallback)
    tj, tf = j.dumps_typed(value), f.dumps_typed(value)
    assert tf == tj and type(tf[0]) is type(tj[0]) and type(tf[1]) is type(tj[1])
    assert_same(f.loads_typed(tj), j.loads_typed(tj))
    assert_same(FastSerializer.loads_typed(f, tj), j.loads_typed(tj))  # the Python path agrees


def test_none_is_one_cached_tuple_equal_to_the_parents() -> None:
    f = FastSerializer()
    assert f.dumps_typed(None) == ("null", b"") == JsonPlusSerializer().dumps_typed(None)
    assert f.dumps_typed(None) is f.dumps_typed(None)


def test_unserializable_value_raises_or_pickles_like_parent() -> None:
    value = {"k": [1, object()]}
    j, f = JsonPlusSerializer(), FastSerializer()
    with pytest.raises(TypeError) as ef:
        f.dumps_typed(value)
    with pytest.raises(TypeError):
        j.dumps_typed(value)
    assert "object" in str(ef.value) and "$['k'][1]" in str(ef.value)
    f.pickle_fallback = True  # read at call time, as the parent reads it
    j.pickle_fallback = True
    assert f.dumps_typed({"lock": len}) == j.dumps_typed({"lock": len})
    assert f.dumps_typed(len)[0] == "pickle"


class _Tag(str):
    pass


_DOC = JsonPlusSerializer().dumps_typed([1, "a"])[1]

MALFORMED: list[Any] = [
    None, 5, "ab", b"ms", [], ["msgpack", _DOC], ("msgpack",), ("msgpack", _DOC, "extra"), (),
    (b"msgpack", _DOC), (1, _DOC), (None, _DOC), (_Tag("msgpack"), _DOC), (_Tag("null"), b""),
    ("msg\udcffpack", _DOC), ("null", None), ("bytes", 3), ("bytearray", 3),
    ("bytearray", "str"), ("bytearray", None), ("bytearray", memoryview(b"mv")), ("bytes", "s"),
    ("msgpack", None), ("msgpack", "str"), ("msgpack", b""), ("msgpack", b"\xc1"), ("msgpack", b"\x92\x01"),
    ("json", b"[1]"), ("pickle", pickle.dumps([1])), ("yaml", b""), ("MSGPACK", _DOC),
]


@pytest.mark.parametrize("data", MALFORMED, ids=param_id)
@pytest.mark.parametrize("pickle_fallback", [False, True])
def test_malformed_data_raises_what_the_parent_raises(data: Any, pickle_fallback: bool) -> None:
    j, f = JsonPlusSerializer(pickle_fallback=pickle_fallback), FastSerializer(pickle_fallback=pickle_fallback)
    out_j, out_f = outcome(j.loads_typed, data), outcome(f.loads_typed, data)
    if out_j[0] == "raise" and isinstance(out_f[1], _native.DecodeError):
        # A malformed document: fast_serde.DecodeError (a ValueError) with the offset, where
        # ormsgpack raises its own ValueError.
        assert isinstance(out_j[1], ValueError), out_j
        return
    _same_outcome(out_f, out_j)


def test_zstd_tag_of_a_bytearray_reads_like_bytes() -> None:
    frame = _native.zstd_compress(_DOC)
    f = FastSerializer()
    assert f.loads_typed(("msgpack-zstd", bytearray(frame))) == f.loads_typed(("msgpack-zstd", frame)) == [1, "a"]
    with pytest.raises(_native.DecodeError):
        f.loads_typed(("msgpack-zstd", _DOC))  # not a frame


# --- the binding follows the serializer -----------------------------------------------------


class Overrides(FastSerializer):
    calls: list[str]

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        self.calls.append("dumps")
        return super().dumps_typed(obj)

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        self.calls.append("loads")
        return super().loads_typed(data)


class OverridesLoads(FastSerializer):
    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        return ("mine", super().loads_typed(data))


class Inherits(FastSerializer):
    pass


def test_a_subclass_override_is_called() -> None:
    s = Overrides()
    s.calls = []
    assert _is_bound(s) == (False, False)
    blob = s.dumps_typed({"a": 1})
    assert s.loads_typed(blob) == {"a": 1} and s.calls == ["dumps", "loads"]
    assert blob == JsonPlusSerializer().dumps_typed({"a": 1})
    only = OverridesLoads()
    assert _is_bound(only) == (True, False)
    assert only.loads_typed(only.dumps_typed(3)) == ("mine", 3)
    assert _is_bound(Inherits()) == (True, True)


def ext_hook(code: int, data: bytes) -> Any:
    """A module-level ``__unpack_ext_hook__``: a serializer given it pickles (the parent's own
    hook is a local function: neither serializer pickles without one)."""
    return ("ext", code)


@pytest.mark.parametrize("how", list(COPIES))
def test_copies_are_bound_to_themselves(how: str) -> None:
    original = FastSerializer(pickle_fallback=True, __unpack_ext_hook__=ext_hook)
    clone = COPIES[how](original)
    assert _is_bound(clone) == (True, True)
    assert clone.dumps_typed.__self__ is not original.dumps_typed.__self__
    assert "dumps_typed" not in original.__getstate__() and "loads_typed" not in original.__getstate__()
    clone.pickle_fallback = False  # the clone's setting, not the original's, decides
    with pytest.raises(TypeError):
        clone.dumps_typed(len)
    assert original.dumps_typed(len)[0] == "pickle"
    for v in VALUES:
        assert clone.dumps_typed(v) == original.dumps_typed(v)


def test_with_msgpack_allowlist_clone_is_bound_to_the_clone() -> None:
    f = FastSerializer(allowed_msgpack_modules=None)
    data = f.dumps_typed(M.Address(city="Oslo"))
    clone = f.with_msgpack_allowlist([M.Address])
    assert _is_bound(clone) == (True, True)
    assert clone.loads_typed.__self__ is not f.loads_typed.__self__
    j = JsonPlusSerializer(allowed_msgpack_modules=None)
    assert_same(clone.loads_typed(data), j.with_msgpack_allowlist([M.Address]).loads_typed(data))
    assert type(clone.loads_typed(data)) is M.Address
    assert_same(f.loads_typed(data), j.loads_typed(data))  # the original still blocks it


def test_compression_set_after_construction_rebinds() -> None:
    big = {"text": "word " * 1000}
    f = FastSerializer()
    assert f.dumps_typed(big)[0] == "msgpack"
    f._set_compression("zstd", 3, 100)
    tag, frame = f.dumps_typed(big)
    assert tag == _compression.TAG
    # The native frame is the Python path's frame, byte for byte.
    assert (tag, frame) == f._zstd.dumps(f._codec.dumps(big)) == FastSerializer.dumps_typed(f, big)
    assert f.loads_typed((tag, frame)) == big == FastSerializer.loads_typed(f, (tag, frame))
    assert f.dumps_typed({"small": 1}) == JsonPlusSerializer().dumps_typed({"small": 1})
    f._set_compression(None)
    assert f.dumps_typed(big) == JsonPlusSerializer().dumps_typed(big)
    assert f.loads_typed((tag, frame)) == big  # every FastSerializer reads the tag


def test_zstd_read_limit_is_the_serializers() -> None:
    big = {"text": "word " * 1000}
    blob = FastSerializer(compression="zstd").dumps_typed(big)
    small = FastSerializer(max_decompressed_bytes=100)
    with pytest.raises(_native.DecodeError) as native_error:
        small.loads_typed(blob)
    with pytest.raises(_native.DecodeError) as python_error:
        FastSerializer.loads_typed(small, blob)
    assert str(native_error.value) == str(python_error.value)


def test_install_binds_the_shared_serializer() -> None:
    from langgraph.checkpoint.base import BaseCheckpointSaver

    from fast_serde.langgraph import install, uninstall

    uninstall()
    try:
        install(compression="zstd", compression_min_bytes=10)
        shared = BaseCheckpointSaver.serde
        assert isinstance(shared, FastSerializer) and _is_bound(shared) == (True, True)
        assert shared.dumps_typed({"text": "word " * 100})[0] == _compression.TAG
    finally:
        uninstall()


@pytest.mark.parametrize("dumps, loads", [(False, False), (False, True), (True, False)])
def test_the_probe_verdict_routes_to_the_parent(dumps: bool, loads: bool) -> None:
    f = FastSerializer()
    f._native = Verdict(dumps, loads)
    assert _is_bound(f) == (dumps, loads)
    for v in VALUES:
        blob = JsonPlusSerializer().dumps_typed(v)
        assert f.dumps_typed(v) == blob
        assert_same(f.loads_typed(blob), JsonPlusSerializer().loads_typed(blob))
    f._native = Verdict()
    assert _is_bound(f) == (True, True)


def test_a_custom_ext_hook_reads_through_the_python_method() -> None:
    def hook(code: int, data: bytes) -> Any:
        return ("ext", code)

    f, j = FastSerializer(__unpack_ext_hook__=hook), JsonPlusSerializer(__unpack_ext_hook__=hook)
    blob = j.dumps_typed([M.Address(city="Oslo")])
    assert f.loads_typed(blob) == j.loads_typed(blob) == [("ext", 5)]
    reset_stats()
    f.loads_typed(blob)
    f.loads_typed(("null", b""))
    s = stats()
    assert (s["loads"], s["loads_fallback"]) == (1, 1)
    reset_stats()


# --- lifetime -------------------------------------------------------------------------------


def test_a_dropped_serializer_is_collected() -> None:
    f = FastSerializer()
    f.loads_typed(f.dumps_typed({"a": [1, 2]}))
    ref = weakref.ref(f)
    binding = weakref.ref(f.dumps_typed.__self__)
    del f
    gc.collect()
    assert ref() is None and binding() is None


def test_many_dropped_serializers_do_not_accumulate() -> None:
    gc.collect()
    before = sum(1 for o in gc.get_objects() if type(o) is _native.TypedBinding)
    for _ in range(200):
        FastSerializer().dumps_typed(1)
    gc.collect()
    after = sum(1 for o in gc.get_objects() if type(o) is _native.TypedBinding)
    assert after <= before


def test_a_detached_method_keeps_its_serializer() -> None:
    dumps = FastSerializer(pickle_fallback=True).dumps_typed
    loads = FastSerializer(pickle_fallback=True).loads_typed
    gc.collect()
    assert dumps(len)[0] == "pickle"
    assert loads(("pickle", pickle.dumps([1]))) == [1]
    assert loads(("json", b"[2]")) == [2]


def test_a_method_patched_on_the_class_runs_for_serializers_made_after(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = FastSerializer.dumps_typed

    def spy(self: FastSerializer, obj: Any) -> tuple[str, bytes]:
        calls.append("dumps")
        return real(self, obj)

    before = FastSerializer()
    monkeypatch.setattr(FastSerializer, "dumps_typed", spy)
    after = FastSerializer()
    assert _is_bound(after) == (False, True)
    assert after.dumps_typed(1) == before.dumps_typed(1) and calls == ["dumps"]
