"""Narrow regressions of the discrepancies the differential search found (issue 11 and
docs/findings.md), each through the same oracle (diff_check.Checker); all are fixed.

Each Checker builds its own FastSerializers, and every class-keyed cache belongs to one codec
(docs/architecture.md, "Caches"), so what a test exercises does not depend on what the process ran
before it (docs/findings.md, "Per-class caches and the order of the tests").

A newly found difference gets a test here marked ``@_known(name)`` (a strict xfail) and an entry
in diff_values.KNOWN_ISSUE_FILTERS until its fix lands; then both go.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import gc
import importlib
import sys
import textwrap
import uuid
import weakref
from typing import Any, NamedTuple, Optional

import pydantic
import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from typing_extensions import TypedDict

import diff_objects as O
import diff_values as V
from diff_check import Checker, Discrepancy, run_sequence
from fast_serde.langgraph import FastSerializer

pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),  # pydantic serializer warnings (both sides)
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


def _rename(cls: Any, name: str) -> Any:
    return V.rename(cls, name)


def _known(name: str) -> Any:
    return pytest.mark.xfail(strict=True, raises=Discrepancy, reason=f"known issue {name}: {V.KNOWN_ISSUE_FILTERS[name]}")



class KColor(enum.Enum):
    RED = "red"


class KTD(TypedDict):
    a: int


class KWithTD(pydantic.BaseModel):
    td: KTD


class KOptTuple(pydantic.BaseModel):
    t: Optional[tuple] = None


class KAliasAllow(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="allow")
    a: int = pydantic.Field(0, validation_alias="A")


@dataclasses.dataclass(frozen=True)
class KFrozen:
    x: int = 0


class KError(Exception):
    pass


class KStr(str):
    pass


K_CLASSES = [KColor, KWithTD, KOptTuple, KAliasAllow, KFrozen, KError, KStr]


@pytest.mark.parametrize(
    "key",
    [(datetime.date(2024, 1, 2), "u1"), ("k", uuid.UUID(int=1)), (KColor.RED, 1), (datetime.time(1, 2), 0),
     (datetime.datetime(2024, 1, 2, 3, 4, 5), 1)],
    ids=["date", "uuid", "enum", "time", "datetime"],
)
def test_known_tuple_key_rich_item(key: Any) -> None:
    Checker(K_CLASSES).check({key: 3})


def test_known_trusted_allowlist_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(V, "ACTIVE_FILTERS", V.ACTIVE_FILTERS - {"trusted-allowlist-cache"})
    run_sequence(K_CLASSES, [KOptTuple(), KOptTuple(t=(1, 2))])


def test_known_trusted_safe_type_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same for a SAFE_MSGPACK_TYPES class in the permissive default mode."""
    from langchain_core.messages import HumanMessage

    monkeypatch.setattr(V, "ACTIVE_FILTERS", V.ACTIVE_FILTERS - {"trusted-allowlist-cache"})
    later = HumanMessage(content="y")
    object.__setattr__(later, "id", 5)  # the parent's validation makes it "5"
    run_sequence([], [HumanMessage(content="x", id="1"), later])


def test_known_typeddict_undeclared_key() -> None:
    s = KWithTD(td={"a": 1})
    s.td["b"] = 2  # type: ignore[typeddict-unknown-key]
    Checker(K_CLASSES).check(s)


def test_known_str_subclass_surrogate_key() -> None:
    Checker(K_CLASSES).check({KStr("\ud800"): 1})


def test_known_validation_alias_extra_allow() -> None:
    Checker(K_CLASSES).check(KAliasAllow(a=1))


@pytest.mark.parametrize("kind", ["exception", "frozen-dataclass"])
def test_known_node_arg_after_first(kind: str) -> None:
    make = (lambda: KError("plain")) if kind == "exception" else KFrozen
    checker = Checker(K_CLASSES)
    checker.check(make())
    obj = make()
    object.__setattr__(obj, "node", "n")
    object.__setattr__(obj, "arg", {"x": 1})
    checker.check(obj)


def test_known_stale_class_after_redefine(monkeypatch: pytest.MonkeyPatch) -> None:
    name = V.fresh_name("Stale")
    old = _rename(type(name, (pydantic.BaseModel,), {"__module__": V.MODULE_NAME, "__annotations__": {"a": int}, "a": 0}), name)
    checker = Checker([old])
    checker.check(old(a=1))
    new = _rename(type(name, (pydantic.BaseModel,), {"__module__": V.MODULE_NAME, "__annotations__": {"a": int}, "a": 0}), name)
    checker.check(new(a=2))


def test_known_stale_class_after_reload(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """importlib.reload of a real module file (what `langgraph dev` hot reload does)."""
    mod_name = f"fs_diff_reload_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{mod_name}.py").write_text(textwrap.dedent("""
        import pydantic
        class State(pydantic.BaseModel):
            a: int = 0
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = importlib.import_module(mod_name)
    try:
        checker = Checker([mod.State])
        checker.check(mod.State(a=1))
        mod = importlib.reload(mod)
        checker.check(mod.State(a=2))
    finally:
        sys.modules.pop(mod_name, None)


class NDate(datetime.date):
    @property
    def year(self) -> int:
        return 1999


class NDelta(datetime.timedelta):
    @property
    def days(self) -> int:
        return 5


class NTime(datetime.time):
    @property
    def hour(self) -> int:
        return 9


class NPair(NamedTuple):
    a: int
    b: int = 2


class NPairIter(NPair):
    def __iter__(self) -> Any:
        return iter((7, 8))


N_CLASSES = [NDate, NDelta, NTime, NPair, NPairIter]


@pytest.mark.parametrize("make", [lambda: NDate(2024, 1, 2), lambda: NDelta(1), lambda: NTime(1, 2)], ids=["date-year", "timedelta-days", "time-hour"])
def test_known_overridden_accessors(make: Any) -> None:
    Checker(N_CLASSES).check(make())


def test_known_namedtuple_iter_override() -> None:
    Checker(N_CLASSES).check(NPairIter(1))


@dataclasses.dataclass
class NPoint:
    x: int = 1


@dataclasses.dataclass(frozen=True)
class NFrozenPoint:
    x: int = 1


@pytest.mark.parametrize("patch", ["model_dump", "get_secret_value", "dict", "_asdict", "dataclass-fields", "node+arg"])
def test_known_class_patched_after_first(patch: str) -> None:
    cls = NFrozenPoint if patch == "node+arg" else NPoint  # JsonPlus: Send-shaped for a frozen one
    checker = Checker([cls])
    checker.check(cls())
    undo = O.CLASS_PATCHES[patch][1](cls)
    try:
        checker.check(cls())
    finally:
        undo()


class NExtra(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="allow")
    a: int = 0


@pytest.mark.parametrize("key", [5, (1, "t")], ids=["int", "tuple"])
def test_known_extras_non_str_key(key: Any) -> None:
    obj = NExtra(a=1, z=1)
    obj.__pydantic_extra__[key] = "v"  # type: ignore[index]
    Checker([NExtra]).check(obj)


class NRoot(pydantic.RootModel[dict[str, int]]):
    pass


def test_known_rootmodel_memo_dict() -> None:
    """Passes without a memo; with main's memo (issue 14) the fourth read differs (N6)."""
    Checker([NRoot]).check(NRoot({"k": 0}))


class NUpper(pydantic.BaseModel):
    a: str = ""


@pytest.mark.parametrize("patch", O.DECODE_PATCHES)
def test_known_memo_class_patched(patch: str) -> None:
    """Passes without a memo; with main's memo (issue 14) the read after the patch is stale (N7)."""
    checker = Checker([NUpper])
    value = NUpper(a="x")
    checker.check(value)  # five reads per serializer: memoized
    undo = O.CLASS_PATCHES[patch][1](NUpper)
    try:
        checker.check(value)
    finally:
        undo()


def test_known_exception_dict_materialized(monkeypatch: pytest.MonkeyPatch) -> None:
    """pickle_fallback=True on a value holding an exception and something unserializable."""
    monkeypatch.setattr(V, "ACTIVE_FILTERS", V.ACTIVE_FILTERS - {"exception-dict-materialized"})
    Checker([]).check([ValueError("x"), object()])


def test_known_classes_kept_alive() -> None:
    """A class written and read once by FastSerializer must be collectable, as with JsonPlus."""
    refs = []
    f = FastSerializer(allowed_msgpack_modules=None)
    for _ in range(20):
        name = V.fresh_name("Gone")
        cls = V.register(type(name, (pydantic.BaseModel,), {"__module__": V.MODULE_NAME, "__annotations__": {"a": int}, "a": 0}))
        f.loads_typed(f.dumps_typed(cls(a=1)))
        FastSerializer(allowed_msgpack_modules=[(V.MODULE_NAME, name)]).loads_typed(f.dumps_typed(cls(a=1)))
        refs.append(weakref.ref(cls))
        delattr(V.GEN, name)
        del cls
    gc.collect()
    assert sum(r() is not None for r in refs) == 0, "classes kept alive"


def test_parent_collects_dynamic_classes() -> None:
    """The control of the test above: JsonPlusSerializer keeps none of them."""
    refs = []
    j = JsonPlusSerializer()
    for _ in range(20):
        name = V.fresh_name("Gone")
        cls = V.register(type(name, (pydantic.BaseModel,), {"__module__": V.MODULE_NAME, "__annotations__": {"a": int}, "a": 0}))
        j.loads_typed(j.dumps_typed(cls(a=1)))
        refs.append(weakref.ref(cls))
        delattr(V.GEN, name)
        del cls
    gc.collect()
    assert sum(r() is not None for r in refs) == 0
