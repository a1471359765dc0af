"""Encoder: hostile objects, and no corrupted buffer for the next call.

Cycles, deep nesting, out-of-range ints, objects whose callbacks raise, containers mutated during
the walk, an output that cannot grow: all end in ``EncodeError`` (or ``MemoryError``) naming the
path (``$...``), and the next call writes correct bytes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from dataclasses import dataclass
from typing import Any, Callable

import ormsgpack
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from pydantic import BaseModel

import fast_serde
from fast_serde import MAX_DEPTH, EncodeError
from robustness_helpers import FAST, ORMSGPACK_OPT, PARENT, REPO_ROOT


GOOD = {"messages": ["hi", 1, 2.5, None, True, b"\x00" * 40], "k": {"nested": [1, [2, [3]]]}, 7: (1, "x")}
GOOD_BYTES = ormsgpack.packb(GOOD, option=ORMSGPACK_OPT)
GOOD_LG = {"messages": [HumanMessage(content="q", id="1"), AIMessage(content="a", id="2")], "n": 3, "u": uuid.UUID(int=5)}
GOOD_LG_BYTES = PARENT.dumps_typed(GOOD_LG)


def assert_next_call_is_clean():
    """A failed walk must not leave bytes behind in the reused buffer."""
    assert fast_serde.dumps(GOOD) == GOOD_BYTES
    assert FAST.dumps_typed(GOOD_LG) == GOOD_LG_BYTES
    assert fast_serde.dumps([]) == b"\x90"


def encode_error(fn: Callable[[], Any], *fragments: str) -> EncodeError:
    try:
        out = fn()
    except EncodeError as exc:
        msg = str(exc)
        assert "$" in msg, msg
        for f in fragments:
            assert f in msg, (f, msg)
        assert_next_call_is_clean()
        return exc
    raise AssertionError(f"no EncodeError; wrote {out!r:.100}")


class Opaque:
    pass


def _cycles() -> dict[str, Any]:
    a: list[Any] = []
    a.append(a)
    d: dict[str, Any] = {}
    d["self"] = d
    inner: dict[str, Any] = {"x": 1}
    outer = {"list": [1, {"inner": inner}]}
    inner["back"] = outer
    t_list: list[Any] = [1]
    t = (t_list,)
    t_list.append(t)
    return {"list": a, "dict": d, "through-dict-and-list": outer, "through-tuple": t}


@pytest.mark.parametrize("kind", sorted(_cycles()))
def test_cycles_are_an_encode_error_naming_the_path(kind):
    value = {"root": _cycles()[kind]}
    e1 = encode_error(lambda: fast_serde.dumps(value), "circular", "$['root']")
    e2 = encode_error(lambda: FAST.dumps_typed(value), "circular", "$['root']")
    assert str(e1) == str(e2)


def test_cycle_through_default_is_an_encode_error():
    class Node:
        pass

    n = Node()
    encode_error(lambda: fast_serde.dumps({"n": n}, default=lambda o: [o]), "$['n']")
    encode_error(lambda: fast_serde.dumps({"n": n}, default=lambda o: {"again": o}), "$['n']")


def _deep(kind: str, depth: int = 100_000) -> Any:
    v: Any = 1
    for _ in range(depth):
        v = {"k": v} if kind == "dict" else (v,) if kind == "tuple" else [v]
    return v


@pytest.mark.parametrize("kind", ["list", "dict", "tuple"])
def test_100000_deep_nesting_is_an_encode_error(kind):
    value = _deep(kind)
    step = "['k']" if kind == "dict" else "[0]"
    encode_error(lambda: fast_serde.dumps(value), "nesting", "$" + step * 3)
    encode_error(lambda: FAST.dumps_typed(value), "nesting", "$" + step * 3)
    assert fast_serde.dumps(_deep(kind, MAX_DEPTH - 1)) == ormsgpack.packb(_deep(kind, MAX_DEPTH - 1))


BIG_INTS = [2**64, -(2**63) - 1, 2**1000, -(2**200)]


@pytest.mark.parametrize("n", BIG_INTS, ids=["2**64", "-2**63-1", "2**1000", "-2**200"])
def test_ints_beyond_64_bits_are_an_encode_error(n):
    class MyInt(int):
        pass

    for v in (n, MyInt(n)):
        encode_error(lambda: fast_serde.dumps({"a": [0, v]}), "$['a'][1]")
        encode_error(lambda: FAST.dumps_typed({"a": [0, v]}), "$['a'][1]")
        encode_error(lambda: fast_serde.dumps({v: 1}), "$")
    assert fast_serde.dumps([2**64 - 1, -(2**63)]) == ormsgpack.packb([2**64 - 1, -(2**63)])


class OddStr(str):
    """A str subclass whose text hooks all misbehave; the walker writes the str data itself."""

    def __str__(self) -> str:
        raise RuntimeError("__str__ called")

    def __repr__(self) -> str:
        raise RuntimeError("__repr__ called")

    def __format__(self, spec: str) -> str:
        raise RuntimeError("__format__ called")

    def encode(self, *a: Any, **k: Any) -> bytes:  # type: ignore[override]
        raise RuntimeError("encode called")

    def __len__(self) -> int:
        raise RuntimeError("__len__ called")


class LyingStr(str):
    def __str__(self) -> str:
        return "something else"


def test_str_subclasses_with_odd_hooks():
    for s in (OddStr("välue"), LyingStr("value"), OddStr("\ud800x")):
        plain = str.__str__(s)
        value = {s: [s, {"k": s}]}
        ref = ormsgpack.packb({plain: [plain, {"k": plain}]}, option=ORMSGPACK_OPT) if "\ud800" not in plain else None
        if ref is not None:
            assert fast_serde.dumps(value) == ref
            assert FAST.dumps_typed(value) == PARENT.dumps_typed(value)
        else:
            # A lone surrogate in a str-subclass key is replaced, as ormsgpack's DictKey replaces
            # it (only an exact str key is refused); as a value, replaced too.
            assert fast_serde.dumps(value) == ormsgpack.packb(value, option=ORMSGPACK_OPT)
            assert FAST.dumps_typed(value) == PARENT.dumps_typed(value)
            encode_error(lambda: fast_serde.dumps({plain: 1}), "surrogates")
            assert fast_serde.dumps([s]) == ormsgpack.packb([plain], option=ORMSGPACK_OPT)
    # An unsupported value under such a key: the path cannot use the key's repr, but is there.
    encode_error(lambda: fast_serde.dumps({OddStr("k"): Opaque()}), "$[")
    assert_next_call_is_clean()


class DictRaises:
    @property
    def __dict__(self):  # type: ignore[override]
        raise RuntimeError("__dict__ raised")


class ModelDumpRaises(BaseModel):
    a: int = 1

    def model_dump(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        raise RuntimeError("model_dump raised")


class ModelDumpReturnsOpaque(BaseModel):
    a: int = 1

    def model_dump(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return {"inner": Opaque()}


class EqRaises:
    def __eq__(self, other: object) -> bool:
        raise RuntimeError("__eq__ raised")

    def __hash__(self) -> int:
        return 1


@dataclass
class DataclassWithRaisingField:
    x: Any


def test_objects_whose_dict_raises():
    encode_error(lambda: fast_serde.dumps({"x": [DictRaises()]}, default=lambda o: o.__dict__), "$['x'][0]", "__dict__ raised")
    encode_error(lambda: FAST.dumps_typed({"x": [DictRaises()]}), "$['x'][0]")
    encode_error(lambda: FAST.dumps_typed({"x": DataclassWithRaisingField(DictRaises())}), "$['x']")


def test_model_dump_that_raises_or_returns_garbage():
    err = encode_error(lambda: FAST.dumps_typed({"m": [ModelDumpRaises()]}), "$['m'][0]", "model_dump raised")
    assert isinstance(err.__cause__, RuntimeError)
    encode_error(lambda: FAST.dumps_typed({"m": ModelDumpReturnsOpaque()}), "$['m']")
    encode_error(lambda: fast_serde.dumps({"m": ModelDumpRaises()}, default=lambda o: o.model_dump()), "$['m']", "model_dump raised")


def test_instance_level_model_dump_does_not_fix_the_class_plan():
    @dataclass
    class Rec:
        x: int

    odd = Rec(1)
    odd.model_dump = lambda: {"y": 1}  # type: ignore[attr-defined]
    assert FAST.dumps_typed(odd) == PARENT.dumps_typed(odd)
    assert FAST.dumps_typed(Rec(2)) == PARENT.dumps_typed(Rec(2))
    # And the other way round: the class plan is cached first, then odd instances meet it.
    @dataclass
    class Rec2:
        x: int

    assert FAST.dumps_typed([Rec2(1)]) == PARENT.dumps_typed([Rec2(1)])
    for attr, value in [("model_dump", lambda: {"y": 1}), ("get_secret_value", lambda: "s"), ("dict", lambda: {"d": 1}), ("_asdict", lambda: {"a": 1}), ("model_dump", 5)]:
        odd2 = Rec2(3)
        setattr(odd2, attr, value)
        assert FAST.dumps_typed({"v": [odd2, Rec2(4)]}) == PARENT.dumps_typed({"v": [odd2, Rec2(4)]}), attr


def test_enum_members_and_exceptions_keep_their_plans():
    # Both have an instance __dict__ (checked per object) without steering attributes.
    from enum import Enum

    class Colour(Enum):
        RED = "r"
        BLUE = "b"

    values = {"c": [Colour.RED, Colour.BLUE, Colour.RED], "e": [ValueError("x"), KeyError("k")]}
    assert FAST.dumps_typed(values) == PARENT.dumps_typed(values)


def test_eq_that_raises():
    # Never compared: as a value and as a key it is just an unsupported type (or default's).
    encode_error(lambda: fast_serde.dumps({"a": EqRaises()}), "$['a']")
    encode_error(lambda: fast_serde.dumps({EqRaises(): 1}), "$[")
    assert fast_serde.dumps({EqRaises(): 1}, default=lambda o: "k") == ormsgpack.packb({"k": 1})
    encode_error(lambda: FAST.dumps_typed({"a": {EqRaises(): 1}}), "$['a']")
    assert_next_call_is_clean()


@pytest.mark.parametrize("exc", [RuntimeError("boom"), ValueError("bad"), TypeError("type"), RecursionError("deep")])
def test_default_that_raises(exc):
    def default(o: Any) -> Any:
        raise exc

    err = encode_error(lambda: fast_serde.dumps({"a": [1, {"b": Opaque()}]}, default=default), "$['a'][1]['b']", "Opaque")
    assert err.__cause__ is exc


def test_default_returning_unsupported_values():
    encode_error(lambda: fast_serde.dumps({"a": Opaque()}, default=lambda o: Opaque()), "$['a']")
    encode_error(lambda: fast_serde.dumps({"a": Opaque()}, default=lambda o: object()), "$['a']")
    encode_error(lambda: fast_serde.dumps({"a": Opaque()}, default=lambda o: 2**70), "$['a']")


def _mutating_cases() -> dict[str, Callable[[], Any]]:
    def grow():
        d = {"a": 1, "b": Opaque(), "c": 3}

        def default(o: Any) -> Any:
            d["added"] = 1
            return 0

        return lambda: fast_serde.dumps({"root": d}, default=default)

    def shrink():
        d = {"a": 1, "b": Opaque(), "c": 3}

        def default(o: Any) -> Any:
            d.pop("c")
            return 0

        return lambda: fast_serde.dumps({"root": d}, default=default)

    def clear():
        d = {"a": 1, "b": Opaque(), "c": 3, "d": [1, 2]}

        def default(o: Any) -> Any:
            d.clear()
            return 0

        return lambda: fast_serde.dumps({"root": d}, default=default)

    def swap():
        d = {"a": 1, "b": Opaque(), "c": 3}

        def default(o: Any) -> Any:
            del d["a"]
            d["z"] = 2
            return 0

        return lambda: fast_serde.dumps({"root": d}, default=default)

    def grow_a_lot():
        d = {"a": 1, "b": Opaque()}

        def default(o: Any) -> Any:
            for i in range(1000):  # forces the dict to resize under the iterator
                d[f"k{i}"] = i
            return 0

        return lambda: fast_serde.dumps({"root": d}, default=default)

    def split_turns_combined():
        obj = Opaque()
        obj.a, obj.b, obj.c = 1, Opaque(), 3
        d = vars(obj)  # a split table (inline values on 3.13)

        def default(o: Any) -> Any:
            d[7] = "int key"  # the table becomes a combined, general one under the walker
            return 0

        return lambda: fast_serde.dumps({"root": d}, default=default)

    def general_keys_resize():
        d = {1: 1, 2: Opaque(), 3: 3}

        def default(o: Any) -> Any:
            for i in range(10, 1010):
                d[i] = i
            for i in range(10, 1009):
                del d[i]  # the same size as before the resize, one key more
            del d[1]
            return 0

        return lambda: fast_serde.dumps({"root": d}, default=default)

    def list_grow():
        lst = [1, Opaque(), 3]

        def default(o: Any) -> Any:
            lst.extend(range(100))
            return 0

        return lambda: fast_serde.dumps({"root": lst}, default=default)

    def list_clear():
        lst = [1, Opaque(), 3, "x" * 100]

        def default(o: Any) -> Any:
            lst.clear()
            return 0

        return lambda: fast_serde.dumps({"root": lst}, default=default)

    def model_dump_mutates_parent():
        parent: dict[str, Any] = {}

        class M(BaseModel):
            a: int = 1

            def model_dump(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
                parent["added"] = 1
                return {"a": 1}

        parent.update({"m": M(), "x": 1})
        return lambda: FAST.dumps_typed({"root": parent})

    cases = (grow, shrink, clear, swap, grow_a_lot, split_turns_combined, general_keys_resize)
    cases += (list_grow, list_clear, model_dump_mutates_parent)
    return {f.__name__: f for f in cases}


@pytest.mark.parametrize("case", sorted(_mutating_cases()))
def test_containers_mutated_during_the_walk(case):
    call = _mutating_cases()[case]()
    try:
        out = call()
    except EncodeError as exc:
        assert "$['root']" in str(exc), str(exc)
        assert "changed size" in str(exc), str(exc)
    else:
        # A same-size change may be written, but only as a well-formed document.
        data = out[1] if isinstance(out, tuple) else out
        fast_serde.loads(data)
    assert_next_call_is_clean()


def test_nested_dumps_inside_default_gets_its_own_buffer():
    def default(o: Any) -> Any:
        inner = fast_serde.dumps({"inner": [1, 2, 3]})
        with pytest.raises(EncodeError):
            fast_serde.dumps([Opaque()])
        return inner

    out = fast_serde.dumps({"a": Opaque(), "b": "after"}, default=default)
    assert fast_serde.loads(out) == {"a": fast_serde.dumps({"inner": [1, 2, 3]}), "b": "after"}
    assert_next_call_is_clean()


_OOM_SCRIPT = textwrap.dedent(
    """
    import resource, sys
    import fast_serde
    from fast_serde.langgraph import FastSerializer

    def vmsize():
        for line in open("/proc/self/status"):
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024

    big = b"x" * (300 << 20)
    limit = vmsize() + (200 << 20)  # room for the walk, not for a second copy of `big`
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    out = []
    for fn in (lambda: fast_serde.dumps([big]), lambda: FastSerializer().dumps_typed({"b": [big]})):
        try:
            fn()
            out.append("wrote")
        except MemoryError as exc:
            out.append("MemoryError" if "cannot grow the output" in str(exc) else repr(exc))
    out.append(str(fast_serde.dumps({"ok": [1, 2]}) == b"\\x81\\xa2ok\\x92\\x01\\x02"))
    print(" ".join(out))
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_an_output_that_cannot_grow_raises_memory_error():
    """Growing the output `bytes` past the address-space limit raises MemoryError (the walk
    unwinds, releasing what it holds) instead of aborting the process; the next call works."""
    proc = subprocess.run([sys.executable, "-c", _OOM_SCRIPT], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-500:]}"
    assert proc.stdout.split() == ["MemoryError", "MemoryError", "True"], proc.stdout + proc.stderr[-300:]
