"""FastSerializer against JsonPlusSerializer: classes whose objects `_msgpack_default` checks
one by one (per-object checks, subclasses that redefine what the parent reads, classes patched
or answering differently, custom attribute lookup, heap built-ins).

Each test compares with the installed JsonPlusSerializer and failed before its fix.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime
import sys
import uuid
import zoneinfo
from decimal import Decimal
from typing import Any, Iterator, NamedTuple

import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pydantic import BaseModel

from exactness_helpers import same_as_parent
from fast_serde.langgraph import FastSerializer


@contextlib.contextmanager
def importable(cls: type) -> Iterator[None]:
    """``cls`` (made inside a test) importable from its module, as the parent's reads need."""
    sys.modules[cls.__module__].__dict__[cls.__name__] = cls
    try:
        yield
    finally:
        del sys.modules[cls.__module__].__dict__[cls.__name__]


# --- 7. checks `_msgpack_default` makes per object ------------------------------------------


@dataclasses.dataclass(frozen=True)
class FrozenDC:
    x: int


@dataclasses.dataclass
class WithNode:
    node: str
    y: int = 0


class MyError(ValueError):
    pass


class Looked:
    """A class whose attribute lookup answers per instance."""

    def __init__(self, send: bool) -> None:
        self._send = send

    def __getattr__(self, name: str) -> Any:
        if self._send and name in ("node", "arg"):
            return name
        raise AttributeError(name)


def _per_object_sequences() -> list[Any]:
    def exc_with_send_attrs() -> list[Any]:
        e = ValueError("x")
        e.node, e.arg = "n", {"k": 1}  # type: ignore[attr-defined]
        return [ValueError("plain"), e, ValueError("plain again")]

    def frozen_with_send_attrs() -> list[Any]:
        d = FrozenDC(2)
        object.__setattr__(d, "node", "n")
        object.__setattr__(d, "arg", [1])
        return [FrozenDC(1), d, FrozenDC(3)]

    def only_node() -> list[Any]:
        e = MyError("y")
        e.node = "n"  # type: ignore[attr-defined]
        return [MyError("a"), e]

    def unhashable_then_hashable() -> list[Any]:
        a, b = MyError("1"), MyError("2")
        a.node, a.arg = "n", 1  # type: ignore[attr-defined]
        b.node, b.arg, b.__hash__ = "n", 1, None  # type: ignore[attr-defined,method-assign]
        return [a, b]

    def dataclass_field_node() -> list[Any]:
        w = WithNode("m")
        w.arg = 5  # type: ignore[attr-defined]
        return [WithNode("n"), w, WithNode("o")]

    def custom_getattr() -> list[Any]:
        return [Looked(False), Looked(True), Looked(False)]

    def model_dump_attr() -> list[Any]:
        e = MyError("z")
        e.model_dump = lambda: {"a": 1}  # type: ignore[attr-defined]
        return [MyError("q"), e]

    return [
        pytest.param(exc_with_send_attrs, id="exception-node-arg"),
        pytest.param(frozen_with_send_attrs, id="frozen-dataclass-node-arg"),
        pytest.param(only_node, id="exception-node-only"),
        pytest.param(unhashable_then_hashable, id="hash-none"),
        pytest.param(dataclass_field_node, id="dataclass-node-field-then-arg"),
        pytest.param(custom_getattr, id="custom-getattr"),
        pytest.param(model_dump_attr, id="exception-model_dump"),
    ]


@pytest.mark.parametrize("make", _per_object_sequences())
@pytest.mark.parametrize("order", ["forward", "reverse"])
def test_per_object_checks_of_msgpack_default(make: Any, order: str) -> None:
    values = make()
    if order == "reverse":
        values = values[::-1]
    for v in values:  # one FastSerializer: the class plan is cached across the sequence
        same_as_parent(v)
        same_as_parent({"wrapped": [v]})


# --- found by the differential search (test_differential.py) -------------------------------


class YearDate(datetime.date):
    @property
    def year(self) -> int:  # type: ignore[override]
        return 1999


class DaysDelta(datetime.timedelta):
    @property
    def days(self) -> int:  # type: ignore[override]
        return 5


class HourTime(datetime.time):
    @property
    def hour(self) -> int:  # type: ignore[override]
        return 9


class PlainDate(datetime.date):
    pass


class NT(NamedTuple):
    a: int
    b: int = 2


class NTIter(NT):
    def __iter__(self) -> Any:
        return iter((7, 8))


@pytest.mark.parametrize(
    "value",
    [
        YearDate(2024, 1, 2),
        DaysDelta(1),
        HourTime(1, 2),
        PlainDate(2024, 1, 2),
        NTIter(1),
        NT(1),
    ],
    ids=lambda v: type(v).__name__,
)
def test_subclasses_that_redefine_what_the_parent_reads(value: Any) -> None:
    same_as_parent(value)
    same_as_parent({"v": [value, value]})


def test_writing_an_exception_does_not_create_its_dict() -> None:
    """An exception's `__dict__` is made on first access, and its existence shows in its pickle."""
    import pickle

    for value in ([ValueError("x"), object()], [MyError("y"), object()]):
        j, f = JsonPlusSerializer(pickle_fallback=True), FastSerializer(pickle_fallback=True)
        assert f.dumps_typed(value) == j.dumps_typed(value)
    e, e_parent = MyError("z"), MyError("z")
    FastSerializer().dumps_typed({"e": e})
    JsonPlusSerializer().dumps_typed({"e": e_parent})
    # The parent leaves the dict uncreated on 3.10/3.11 and creates it on 3.12+ (its SendProtocol
    # check reads members with inspect.getattr_static): the walker does the same.
    assert pickle.dumps(e) == pickle.dumps(e_parent)
    e.node, e.arg = "n", 1  # type: ignore[attr-defined]  # still honoured per object
    same_as_parent(e)


# --- classes patched after their first object was written (docs/findings.md, N4) --------------


def _patched_after_first() -> list[Any]:
    def dataclass_gets_model_dump() -> tuple[type, Any]:
        @dataclasses.dataclass
        class PD:
            x: int = 1

        return PD, lambda: setattr(PD, "model_dump", lambda self: {"md": 1})

    def namedtuple_gets_asdict() -> tuple[type, Any]:
        class NTP(NamedTuple):
            a: int = 0

        return NTP, lambda: setattr(NTP, "_asdict", lambda self: {"z": 9})

    def model_gets_model_dump() -> tuple[type, Any]:
        class MP(BaseModel):
            a: int = 0

        return MP, lambda: setattr(MP, "model_dump", lambda self, **k: {"patched": 1})

    def frozen_gets_send_attrs() -> tuple[type, Any]:
        @dataclasses.dataclass(frozen=True)
        class CP:
            x: int = 1

        def patch() -> None:
            CP.node, CP.arg = "n", 1  # type: ignore[attr-defined]

        return CP, patch

    def date_gets_a_property() -> tuple[type, Any]:
        class DP(datetime.date):
            pass

        return DP, lambda: setattr(DP, "year", property(lambda self: 1999))

    def base_class_patched() -> tuple[type, Any]:
        @dataclasses.dataclass
        class Base:
            x: int = 1

        @dataclasses.dataclass
        class Child(Base):
            y: int = 2

        return Child, lambda: setattr(Base, "get_secret_value", lambda self: "s")

    def exception_gets_getattr() -> tuple[type, Any]:
        class GE(Exception):
            pass

        def getattr_(self: Any, name: str) -> Any:
            if name in ("node", "arg"):
                return name  # hasattr(obj, "node") is now True: the parent's SendProtocol branch
            raise AttributeError(name)

        return GE, lambda: setattr(GE, "__getattr__", getattr_)

    return [
        pytest.param(exception_gets_getattr, id="exception-__getattr__"),
        pytest.param(dataclass_gets_model_dump, id="dataclass-model_dump"),
        pytest.param(namedtuple_gets_asdict, id="namedtuple-_asdict"),
        pytest.param(model_gets_model_dump, id="model-model_dump"),
        pytest.param(frozen_gets_send_attrs, id="frozen-node-arg"),
        pytest.param(date_gets_a_property, id="date-subclass-property"),
        pytest.param(base_class_patched, id="base-class-patched"),
    ]


@pytest.mark.parametrize("make", _patched_after_first())
def test_a_class_patched_after_its_first_object(make: Any) -> None:
    cls, patch = make()
    with importable(cls):
        value = cls(2024, 1, 2) if issubclass(cls, datetime.date) else cls()
        f = FastSerializer()
        assert f.dumps_typed(value) == JsonPlusSerializer().dumps_typed(value)  # plan cached
        patch()
        j = JsonPlusSerializer()
        assert f.dumps_typed(value) == j.dumps_typed(value)
        same_as_parent({"v": [value]})


# --- a lookup is custom by the type's tp_getattro slot, not by a name in its __dict__ ---------


class _Getattr:
    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)


class _Getattribute:
    def __getattribute__(self, name: str) -> Any:
        return object.__getattribute__(self, name)


class _GenericAgain:
    __getattribute__ = object.__getattribute__  # CPython puts the generic slot back


class _DequeSub(collections.deque):
    pass


class _DecimalSub(Decimal):
    pass


@pytest.mark.parametrize(
    "cls, custom",
    [
        (_Getattr, True),
        (type("GetattrChild", (_Getattr,), {}), True),
        (_Getattribute, True),
        (type("DequeWithGetattr", (collections.deque, _Getattr), {}), True),
        (_GenericAgain, False),
        (collections.deque, False),
        (_DequeSub, False),
        (Decimal, False),
        (_DecimalSub, False),
        (zoneinfo.ZoneInfo, False),
        (datetime.datetime, False),
        (uuid.UUID, False),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else str(v),
)
def test_custom_attribute_lookup_is_read_from_the_type_slot(cls: type, custom: bool) -> None:
    """deque, ZoneInfo (3.12+) and Decimal (3.13) are heap types whose __dict__ lists a
    `__getattribute__` wrapper of the generic lookup: no custom lookup, so the walker writes them
    itself on every Python. A class answering `hasattr` in its own code is decided per object."""
    from fast_serde.langgraph import _plans

    assert _plans._custom_getattr(cls) is custom


# --- what the class answers per object, its lookup generic all the same ---------------------


def _answered_per_object() -> list[Any]:
    """Classes whose lookup is generic but whose instances answer `_msgpack_default`'s probes
    (or `obj.__class__`, or `dataclasses.fields(obj)`) differently: `make()` gives the class and
    a function making a second object (after a change, if any), which does not follow the
    first object's branch."""

    def property_dict() -> tuple[type, Any, Any]:
        class PropDeque(collections.deque):
            @property
            def dict(self) -> Any:
                if len(self) > 1:
                    return lambda: {"n": len(self)}
                raise AttributeError("dict")

        return PropDeque, PropDeque([1]), lambda: PropDeque([1, 2])

    def property_model_dump() -> tuple[type, Any, Any]:
        @dataclasses.dataclass
        class PropDC:
            x: int

            @property
            def model_dump(self) -> Any:
                if self.x:
                    return lambda **kw: {"x": self.x}
                raise AttributeError("model_dump")

        return PropDC, PropDC(0), lambda: PropDC(1)

    def slot_get_secret_value() -> tuple[type, Any, Any]:
        class SlotDecimal(Decimal):
            __slots__ = ("get_secret_value",)

        def second() -> Any:
            b = SlotDecimal("2")
            b.get_secret_value = lambda: "s"  # the slot, unset on the first object
            return b

        return SlotDecimal, SlotDecimal("1"), second

    def cached_property_dict() -> tuple[type, Any, Any]:
        import functools

        class CachedDate(datetime.date):
            @functools.cached_property
            def dict(self) -> Any:
                return (lambda: {"d": self.day}) if self.day > 1 else None

        return CachedDate, CachedDate(2020, 1, 1), lambda: CachedDate(2020, 1, 2)

    def class_property() -> tuple[type, Any, Any]:
        class Masked(collections.deque):
            __class__ = property(lambda self: collections.deque if self else Masked)  # type: ignore[assignment]

        return Masked, Masked(), lambda: Masked([1])

    def dataclass_fields_of_one_object() -> tuple[type, Any, Any]:
        @dataclasses.dataclass
        class OwnFields:
            x: int

        def second() -> Any:
            b = OwnFields(2)
            b.__dict__["__dataclass_fields__"] = {}  # dataclasses.fields(b) reads it: no field
            return b

        return OwnFields, OwnFields(1), second

    def attribute_becomes_callable() -> tuple[type, Any, Any]:
        class Attr:
            pass

        class Holder(uuid.UUID):
            dict = Attr()  # not callable: the UUID branch

        def second() -> Any:
            # `Attr` gains __call__, Holder's tag unchanged: callable(obj.dict) is now True.
            Attr.__call__ = lambda self: {"u": 1}  # type: ignore[attr-defined]
            return Holder(int=2)

        return Holder, Holder(int=1), second

    return [
        pytest.param(property_dict, id="property-dict"),
        pytest.param(property_model_dump, id="property-model_dump"),
        pytest.param(slot_get_secret_value, id="slot-get_secret_value"),
        pytest.param(cached_property_dict, id="cached_property-dict"),
        pytest.param(class_property, id="__class__-property"),
        pytest.param(dataclass_fields_of_one_object, id="instance-__dataclass_fields__"),
        pytest.param(attribute_becomes_callable, id="attribute-gains-__call__"),
    ]


@pytest.mark.parametrize("make", _answered_per_object())
def test_a_class_whose_objects_answer_the_probes_differently(make: Any) -> None:
    """A class attribute that is a property, a slot, a cached_property, a `__class__` override
    or a value whose callability may change (and an instance's own `__dataclass_fields__`) lets
    objects of one class take different branches of `_msgpack_default`: the first object's plan
    must not decide the second's. Each object is written by the same serializer, in turn."""
    cls, first, make_second = make()
    with importable(cls):
        f, j = FastSerializer(), JsonPlusSerializer()
        assert f.dumps_typed(first) == j.dumps_typed(first)
        second = make_second()
        assert f.dumps_typed(second) == j.dumps_typed(second)
        assert f.dumps_typed(first) == j.dumps_typed(first)
        same_as_parent({"v": [first, second]})


def test_a_class_modified_while_its_plan_is_decided() -> None:
    """`encode_plan` runs Python code (here a metaclass's `__mro__`, read after the lookup check;
    another thread could do the same) that gives the class a `__getattr__` and a new
    `tp_version_tag`: the plan decided before the change is not cached under the new tag, so the
    next object follows the class as it is."""

    def getattr_(self: Any, name: str) -> Any:
        if name == "dict":
            return lambda: {"hijacked": 1}
        raise AttributeError(name)

    class Meta(type):
        armed = False

        @property
        def __mro__(cls) -> tuple[type, ...]:  # type: ignore[override]
            mro = type.__dict__["__mro__"].__get__(cls)
            # Past `_custom_getattr`: `_class_answers_fixed` reads the MRO last (in `_owner`).
            if Meta.armed and sys._getframe(2).f_code.co_name == "_class_answers_fixed":
                Meta.armed = False
                cls.__getattr__ = getattr_  # type: ignore[attr-defined]
                getattr(cls, "_a_lookup_assigns_a_new_tag", None)
            return mro

    @dataclasses.dataclass
    class Hooked(metaclass=Meta):
        x: int

    with importable(Hooked):
        f = FastSerializer()
        Meta.armed = True
        f.dumps_typed(Hooked(1))  # decided while the class changes
        assert not Meta.armed
        value = Hooked(2)
        assert f.dumps_typed(value) == JsonPlusSerializer().dumps_typed(value)
        assert b"hijacked" in f.dumps_typed(value)[1]


@pytest.mark.parametrize(
    "value, kind",
    [
        (collections.deque([1, "a"]), "ITER_ARG"),
        (_DequeSub([2]), "ITER_ARG"),
        (Decimal("2.50"), "STR_ARG"),
        (_DecimalSub("-0"), "STR_ARG"),
        (zoneinfo.ZoneInfo("UTC"), "ATTR_ARG"),
    ],
    ids=repr,
)
def test_heap_builtins_are_written_natively(value: Any, kind: str) -> None:
    from fast_serde.langgraph import _plans

    assert _plans.plan_kind(value) == getattr(_plans, kind)
    same_as_parent(value)
    same_as_parent({"v": [value, value]})
