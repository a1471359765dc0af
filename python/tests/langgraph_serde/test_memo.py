"""The memo of validated models (memo.rs): loads with it give exactly what validation gives.

Every check compares FastSerializer with the memo against FastSerializer without it
(`memo_bytes=0`) and against JsonPlusSerializer, object for object (`assert_same`: types all the
way down, `model_fields_set`, extras, private attributes), including after the returned objects
are mutated between loads.
"""

from __future__ import annotations

import gc
import itertools
import sys
import threading
import types
import weakref
from typing import Any, Optional

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from fast_serde.langgraph import FastSerializer
from lg_strategies import assert_same

THIS = __name__


class Note(pydantic.BaseModel):
    text: str
    tags: list[str] = []
    meta: dict[str, Any] = {}
    score: Optional[float] = None


class Stamped(pydantic.BaseModel):
    """A validator that is not a function of the payload: every validation stamps anew."""

    text: str
    stamp: int = 0

    @pydantic.model_validator(mode="after")
    def _stamp(self) -> "Stamped":
        self.stamp = next(_COUNTER)
        return self


_COUNTER = itertools.count()


class OptedOut(pydantic.BaseModel):
    __fast_serde_memo__ = False
    text: str


class WithPrivate(pydantic.BaseModel):
    text: str
    _cache: dict = pydantic.PrivateAttr(default_factory=dict)


def message(i: int, kind: int, text: str) -> Any:
    if kind == 0:
        return HumanMessage(content=text, id=f"h{i}")
    if kind == 1:
        return AIMessage(
            content=text,
            id=f"a{i}",
            tool_calls=[{"name": "search", "args": {"q": text, "n": i}, "id": f"c{i}"}],
            usage_metadata={"input_tokens": i, "output_tokens": 2, "total_tokens": i + 2},
        )
    if kind == 2:
        return ToolMessage(content=text, tool_call_id=f"c{i}", id=f"t{i}")
    if kind == 3:
        return Note(text=text, tags=[text, "x"], meta={"i": i, "nested": [1, {"k": text}]}, score=i / 3)
    if kind == 4:
        return Stamped(text=text)
    if kind == 5:
        return OptedOut(text=text)
    if kind == 6:
        return WithPrivate(text=text)
    return SystemMessage(content=text)


def serdes(**kw: Any) -> tuple[JsonPlusSerializer, FastSerializer, FastSerializer]:
    return JsonPlusSerializer(**kw), FastSerializer(**kw), FastSerializer(memo_bytes=0, **kw)


def mutate(value: Any) -> None:
    """Change every mutable part of a loaded state, as a graph node might."""
    for m in value["messages"]:
        d = m if isinstance(m, dict) else m.__dict__  # a blocked class loads as its kwargs
        for k, v in list(d.items()):
            if isinstance(v, list):
                v.append("MUTATED")
            elif isinstance(v, dict):
                v["MUTATED"] = 1
        if isinstance(getattr(m, "tool_calls", None), list) and m.tool_calls:
            m.tool_calls[0]["args"]["q"] = "MUTATED"
        if "id" in d:
            d["id"] = "MUTATED"


def _allow(mode: str) -> dict[str, Any]:
    if mode == "permissive":
        return {}
    if mode == "strict":
        return {"allowed_msgpack_modules": None}
    return {"allowed_msgpack_modules": [(THIS, c) for c in ("Note", "Stamped", "OptedOut", "WithPrivate")]}


histories = st.lists(
    st.tuples(
        st.sampled_from(["append", "append", "append", "edit", "remove"]),
        st.integers(0, 7),
        st.text(max_size=12),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(history=histories, mode=st.sampled_from(["permissive", "explicit", "strict"]), validate=st.booleans())
def test_thread_histories_load_the_same_with_and_without_the_memo(history: list[Any], mode: str, validate: bool) -> None:
    j, f, f0 = serdes(**_allow(mode))
    if not validate:
        f = FastSerializer(validate_models=False, **_allow(mode))
    messages: list[Any] = []
    for i, (op, kind, text) in enumerate(history):
        if op == "append" or not messages:
            messages.append(message(i, kind, text))
        elif op == "edit":
            messages[i % len(messages)] = message(i, kind, text + "!")
        else:
            messages.pop(i % len(messages))
        data = j.dumps_typed({"messages": list(messages)})
        assert f.dumps_typed({"messages": list(messages)}) == data
        for _ in range(4):  # first sight, template, hits
            got, plain, ref = f.loads_typed(data), f0.loads_typed(data), j.loads_typed(data)
            for x, y, z in zip(got["messages"], plain["messages"], ref["messages"]):
                if isinstance(x, Stamped):
                    assert len({x.stamp, y.stamp, z.stamp}) == 3  # a new stamp on every load
                    for m in (x, y, z):
                        m.__dict__["stamp"] = 0
            assert_same(got, ref)
            assert_same(plain, ref)
            mutate(got)  # never changes what a later load returns


def test_a_validator_that_stamps_is_validated_every_time() -> None:
    j, f, _ = serdes()
    data = j.dumps_typed(Stamped(text="x"))
    stamps = [f.loads_typed(data).stamp for _ in range(5)]
    assert len(set(stamps)) == 5
    assert f.memo_stats()["hits"] == 0 and f.memo_stats()["rejected"] == 1


def test_opt_outs() -> None:
    j, f, f0 = serdes()
    data = j.dumps_typed(OptedOut(text="x"))
    for _ in range(4):
        assert_same(f.loads_typed(data), j.loads_typed(data))
    assert f.memo_stats()["hits"] == 0
    data = j.dumps_typed(Note(text="n"))
    for _ in range(4):
        f0.loads_typed(data)
    assert f0.memo_stats()["hits"] == 0 and f0.memo_stats()["entries"] == 0
    with pytest.raises(ValueError):
        FastSerializer(memo_bytes=-1)


@pytest.mark.parametrize("budget", ["100", 100.0, True, b"1"], ids=repr)
def test_memo_bytes_is_an_int(budget: object) -> None:
    # As the compression settings: a str, float or bool budget is refused, not converted.
    with pytest.raises(TypeError, match="memo_bytes must be an int"):
        FastSerializer(memo_bytes=budget)  # type: ignore[arg-type]
    assert FastSerializer(memo_bytes=1 << 20).memo_bytes == 1 << 20


def test_hits_skip_validation_and_give_independent_objects() -> None:
    j, f, _ = serdes()
    msgs = [message(i, i % 4, f"text {i}") for i in range(40)]
    data = j.dumps_typed({"messages": msgs})
    first = [f.loads_typed(data) for _ in range(4)]  # mark, keep a template, hit, hit
    stats = f.memo_stats()
    assert stats["hits"] == 80 and stats["fills"] == 40
    mutate(first[3])
    again = f.loads_typed(data)
    assert_same(again, j.loads_typed(data))
    assert again["messages"][1] is not first[3]["messages"][1]
    assert again["messages"][1].tool_calls is not first[3]["messages"][1].tool_calls


def test_a_redefined_class_misses() -> None:
    mod = types.ModuleType("memo_probe_mod")
    sys.modules["memo_probe_mod"] = mod
    try:

        def define() -> type:
            cls = pydantic.create_model("Probe", text=(str, ...), __module__="memo_probe_mod")
            mod.Probe = cls  # type: ignore[attr-defined]
            return cls

        old = define()
        j, f, _ = serdes()
        data = j.dumps_typed(old(text="x"))
        for _ in range(3):
            assert type(f.loads_typed(data)) is old
        new = define()
        assert type(f.loads_typed(data)) is type(j.loads_typed(data)) is new
    finally:
        del sys.modules["memo_probe_mod"]


def test_the_memo_keeps_no_class_alive() -> None:
    j, f, _ = serdes()
    refs = []
    mod = types.ModuleType("memo_alive_mod")
    sys.modules["memo_alive_mod"] = mod
    try:
        for i in range(50):
            cls = pydantic.create_model(f"M{i}", a=(int, 0), __module__="memo_alive_mod")
            setattr(mod, f"M{i}", cls)
            data = j.dumps_typed(cls(a=i))
            for _ in range(4):
                f.loads_typed(data)
            refs.append(weakref.ref(cls))
            delattr(mod, f"M{i}")
            del cls
        assert f.memo_stats()["hits"] == 100  # two per class: mark, keep, hit, hit
    finally:
        del sys.modules["memo_alive_mod"]
    gc.collect()
    assert sum(r() is not None for r in refs) == 0


@pytest.mark.parametrize("budget", [8 << 10, 16 << 10, 1 << 20])
def test_hits_and_misses_add_up_to_the_payloads_looked_up(budget: int) -> None:
    # Every ext 5 payload is a hit or a miss: also one whose entry holds no template (too large
    # for a small budget, or of a class the memo may not serve), never neither.
    j, _, _ = serdes()
    f = FastSerializer(memo_bytes=budget)
    kinds = (0, 1, 2, 3, 5, 6, 7)  # every kind but Stamped, whose validator reads a counter
    msgs = [message(i, kinds[i % 7], f"text {i} " * (1 + 60 * (i % 3))) for i in range(28)]
    data = j.dumps_typed({"messages": msgs})
    for n in range(1, 6):
        assert_same(f.loads_typed(data), j.loads_typed(data))
        stats = f.memo_stats()
        assert stats["hits"] + stats["misses"] == n * len(msgs), stats
    if budget >= 1 << 20:
        assert stats["hits"] > 0  # served from the third load on (a few KiB keeps no template)


def test_the_budget_holds_under_a_stream_of_distinct_payloads() -> None:
    j, _, _ = serdes()
    budget = 200_000
    f = FastSerializer(memo_bytes=budget)
    for i in range(3000):  # each seen once: marked only, in the table of marks it is charged
        f.loads_typed(j.dumps_typed(Note(text=f"once {i} " * 5, tags=[str(i)])))
        assert 0 < f.memo_stats()["bytes"] <= budget
    assert f.memo_stats()["entries"] == 0
    for i in range(3000):  # each seen twice: a template kept, the oldest evicted
        data = j.dumps_typed(Note(text=f"note {i} " * 5, tags=[str(i)]))
        f.loads_typed(data), f.loads_typed(data)
        assert f.memo_stats()["bytes"] <= budget
    stats = f.memo_stats()
    assert 0 < stats["entries"] < 3000 and stats["misses"] == 9000
    # The most recent payloads are kept: loading one again hits.
    data = j.dumps_typed(Note(text="note 2999 " * 5, tags=["2999"]))
    for _ in range(3):
        f.loads_typed(data)
    assert f.memo_stats()["hits"] == 3
    f._codec.set_memo_bytes(0)
    assert f.memo_stats()["entries"] == 0 and f.memo_stats()["bytes"] == 0


def test_eight_threads_loading_shared_blobs_agree() -> None:
    j, f, _ = serdes()
    blobs = [j.dumps_typed({"messages": [message(i * 10 + k, k % 4, f"t{i}-{k}") for k in range(12)]}) for i in range(6)]
    expected = [j.loads_typed(b) for b in blobs]
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work(seed: int) -> None:
        try:
            barrier.wait()
            for n in range(60):
                i = (seed + n) % len(blobs)
                got = f.loads_typed(blobs[i])
                assert_same(got, expected[i])
                mutate(got)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert f.memo_stats()["hits"] > 0


@pytest.mark.parametrize("mode", ["permissive", "explicit", "strict"])
def test_allowlist_events_on_every_load_hit_or_not(mode: str) -> None:
    from langgraph.checkpoint.serde.event_hooks import register_serde_event_listener

    kw = _allow(mode)
    j, f, _ = serdes(**kw)
    data = j.dumps_typed({"messages": [Note(text="n"), HumanMessage(content="h", id="1")]})
    seen: dict[str, list[Any]] = {}
    results: dict[str, list[Any]] = {}
    for label, serde in (("parent", j), ("fast", f)):
        events: list[Any] = []
        unregister = register_serde_event_listener(lambda e: events.append(dict(e)))
        try:
            results[label] = [serde.loads_typed(data) for _ in range(5)]
        finally:
            unregister()
        seen[label] = events
    assert seen["fast"] == seen["parent"]
    for got, ref in zip(results["fast"], results["parent"]):
        assert_same(got, ref)
    if mode != "strict":
        assert f.memo_stats()["hits"] >= 2  # the last loads were hits, and still emitted events


class Rooted(pydantic.RootModel[dict[str, int]]):
    pass


def test_root_models_are_always_validated() -> None:
    """A RootModel keeps its extra and private state outside the slots a template restores."""
    j, f, _ = serdes()
    data = j.dumps_typed(Rooted({"k": 0}))
    for _ in range(5):
        got, ref = f.loads_typed(data), j.loads_typed(data)
        assert_same(got, ref)
        assert list(got.__dict__) == list(ref.__dict__) == ["root"]
    assert f.memo_stats()["hits"] == 0


@pytest.mark.parametrize("validate", [True, False])
@pytest.mark.parametrize("change", ["model_rebuild", "__init__"])
def test_a_class_modified_after_its_payloads_were_kept(change: str, validate: bool) -> None:
    """Memo entries and trust decisions follow the class's version tag (docs/findings.md, N7)."""
    mod = types.ModuleType("memo_patch_mod")
    sys.modules["memo_patch_mod"] = mod
    try:
        cls = pydantic.create_model("Patched", a=(str, ...), __module__="memo_patch_mod")
        mod.Patched = cls  # type: ignore[attr-defined]
        j = JsonPlusSerializer()
        f = FastSerializer(validate_models=validate)
        data = j.dumps_typed(cls(a="x"))
        for _ in range(4):
            assert_same(f.loads_typed(data), j.loads_typed(data))
        if change == "model_rebuild":
            cls.model_config["str_to_upper"] = True
            cls.model_rebuild(force=True)
        else:
            original = cls.__init__

            def __init__(self: Any, **kw: Any) -> None:
                kw["a"] = kw["a"] + "!"
                original(self, **kw)

            cls.__init__ = __init__  # type: ignore[method-assign]
        for _ in range(4):
            got, ref = f.loads_typed(data), j.loads_typed(data)
            assert_same(got, ref)
            assert got.a != "x"
    finally:
        del sys.modules["memo_patch_mod"]
