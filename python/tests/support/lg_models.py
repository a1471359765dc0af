"""Importable types for the LangGraph serializer tests (langgraph_serde/, differential/, ...).

They live in a plain module (not the test module) so that a checkpoint written in one process
can be read in another (strict-mode subprocess tests import ``lg_models`` through PYTHONPATH) and
so that ``allowed_msgpack_modules=[("lg_models", "Profile"), ...]`` names a stable module.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import decimal
import enum
import operator
import uuid
from typing import Annotated, Any, Generic, NamedTuple, Optional, TypeVar

import pydantic
import pydantic.v1
from pydantic import BaseModel, ConfigDict, Field, RootModel, SecretBytes, SecretStr
from typing_extensions import TypedDict

# --- enums -------------------------------------------------------------------------------


class Color(enum.Enum):
    RED = 1
    GREEN = "green"
    BLUE = (1, 2)


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 10


if hasattr(enum, "StrEnum"):
    _StrEnum = enum.StrEnum
else:  # Python 3.10: enum.StrEnum is 3.11+; the (str, Enum) mix-in it is built on stands in.

    class _StrEnum(str, enum.Enum):  # type: ignore[no-redef]
        pass


class Mood(_StrEnum):  # type: ignore[misc, valid-type]
    HAPPY = "happy"
    SAD = "sad"


class Perm(enum.Flag):
    R = 4
    W = 2
    X = 1


# --- pydantic v2 -------------------------------------------------------------------------


class Address(BaseModel):
    city: str
    zip: Optional[str] = None
    lines: list[str] = []


class Profile(BaseModel):
    """Nested model, Optional fields, defaults that are usually not set."""

    name: str
    age: Optional[int] = None
    tags: list[str] = Field(default_factory=list)
    address: Optional[Address] = None
    score: float = 0.5
    meta: dict[str, Any] = Field(default_factory=dict)


class Rich(BaseModel):
    """Fields whose model_dump() keeps rich Python objects (ext values inside ext 5)."""

    id: uuid.UUID
    when: datetime.datetime
    day: datetime.date
    amount: decimal.Decimal
    tags: set[str] = set()
    color: Color = Color.RED
    level: Level = Level.LOW
    mood: Mood = Mood.HAPPY
    span: datetime.timedelta = datetime.timedelta(0)
    anything: Any = None


class WithSerializer(BaseModel):
    when: datetime.datetime
    count: int = 0

    @pydantic.field_serializer("when")
    def _ser_when(self, v: datetime.datetime) -> str:
        return v.isoformat()

    @pydantic.field_serializer("count")
    def _ser_count(self, v: int) -> str:
        return f"{v}"


class WithComputed(BaseModel):
    first: str
    last: str

    @pydantic.computed_field  # type: ignore[prop-decorator]
    @property
    def full(self) -> str:
        return f"{self.first} {self.last}"


class ForbidComputed(BaseModel):
    """extra='forbid' + computed_field: cls(**dump) fails, the model_construct fallback runs."""

    model_config = ConfigDict(extra="forbid")
    a: int

    @pydantic.computed_field  # type: ignore[prop-decorator]
    @property
    def double(self) -> int:
        return self.a * 2


class ExtraAllow(BaseModel):
    model_config = ConfigDict(extra="allow")
    known: int = 0


class Secretive(BaseModel):
    user: str
    password: SecretStr
    token: Optional[SecretBytes] = None


class Aliased(BaseModel):
    """model_dump() writes field names; validation wants aliases: model_construct path."""

    user_name: str = Field(alias="userName")


class AliasedPopulate(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    user_name: str = Field(alias="userName")


class StrictInt(BaseModel):
    """The serializer writes a str, strict validation refuses it: model_construct path."""

    model_config = ConfigDict(strict=True)
    n: int

    @pydantic.field_serializer("n")
    def _ser_n(self, v: int) -> str:
        return str(v)


class WithPrivate(BaseModel):
    a: int = 1
    _secret: str = pydantic.PrivateAttr(default="hidden")


class WithExclude(BaseModel):
    a: int = 1
    b: str = Field(default="x", exclude=True)


class IntList(RootModel[list[int]]):
    pass


T = TypeVar("T")


class Box(BaseModel, Generic[T]):
    item: T


class Outer(BaseModel):
    class Inner(BaseModel):
        """Written with __name__ "Inner": not importable as lg_models.Inner."""

        v: int = 1

    a: int = 0


class AnyModel(BaseModel):
    value: Any = None
    note: str = ""


class Tree(BaseModel):
    label: str
    children: list["Tree"] = []


# --- pydantic v1 -------------------------------------------------------------------------


class V1Inner(pydantic.v1.BaseModel):
    x: int = 0


class V1Model(pydantic.v1.BaseModel):
    name: str
    values: list[int] = []
    inner: Optional[V1Inner] = None


# --- dataclasses / namedtuples -----------------------------------------------------------


@dataclasses.dataclass
class Point:
    x: int
    y: int
    label: str = ""


@dataclasses.dataclass(slots=True)
class SlotPoint:
    x: float
    y: float


@dataclasses.dataclass(frozen=True)
class Frozen:
    key: str
    value: Any = None


@dataclasses.dataclass
class Segment:
    start: Point
    end: Point
    extra: list[Any] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class InitFalse:
    """init=False field: the parent's cls(**kwargs) fails, the kwargs dict comes back."""

    a: int
    b: int = dataclasses.field(init=False, default=7)


@dataclasses.dataclass
class AnyBox:
    value: Any = None


class Pair(NamedTuple):
    left: Any
    right: Any = None


CPair = collections.namedtuple("CPair", ["a", "b"])


class CustomError(Exception):
    def __init__(self, code: int, msg: str) -> None:
        super().__init__(code, msg)
        self.code = code


# --- a small graph -----------------------------------------------------------------------


class GraphState(TypedDict, total=False):
    profile: Profile
    point: Point
    log: Annotated[list[str], operator.add]
    step: int


def _first(state: GraphState) -> dict[str, Any]:
    p = state["profile"]
    return {
        "profile": p.model_copy(
            update={"age": (p.age or 0) + 1, "address": Address(city="Paris", zip="75001")}
        ),
        "point": Point(state["point"].x + 1, state["point"].y * 2, label="first"),
        "log": [f"first:{type(p).__name__}:{type(state['point']).__name__}"],
        "step": state.get("step", 0) + 1,
    }


def _second(state: GraphState) -> dict[str, Any]:
    p = state["profile"]
    return {
        "profile": p.model_copy(update={"tags": [*p.tags, "second"]}),
        "point": Point(state["point"].x * 10, state["point"].y, label="second"),
        "log": [f"second:{type(p).__name__}:{type(state['point']).__name__}"],
        "step": state.get("step", 0) + 1,
    }


def build_graph(checkpointer: Any, *, interrupt_before: tuple[str, ...] = ("second",)) -> Any:
    """START -> first -> second -> END, interrupted before ``second``."""
    from langgraph.graph import END, START, StateGraph

    g = StateGraph(GraphState)
    g.add_node("first", _first)
    g.add_node("second", _second)
    g.add_edge(START, "first")
    g.add_edge("first", "second")
    g.add_edge("second", END)
    return g.compile(checkpointer=checkpointer, interrupt_before=list(interrupt_before))


def initial_state() -> GraphState:
    return {"profile": Profile(name="ada", tags=["x"]), "point": Point(1, 2), "log": [], "step": 0}


GRAPH_ALLOWLIST = [("lg_models", "Profile"), ("lg_models", "Address"), ("lg_models", "Point")]


# --- validators (validate_models=False must still give what validation gives) ------------


class Upper(BaseModel):
    """A validator that is not idempotent: re-validation changes the value."""

    s: str

    @pydantic.field_validator("s")
    @classmethod
    def _up(cls, v: str) -> str:
        return v.upper() + "!"


class Normalized(BaseModel):
    """An idempotent normalizing validator; objects mutated after validation are re-normalized."""

    tags: list[str]

    @pydantic.field_validator("tags")
    @classmethod
    def _norm(cls, v: list[str]) -> list[str]:
        return sorted(x.lower() for x in v)


class Clamped(BaseModel):
    n: int = 0

    @pydantic.field_validator("n")
    @classmethod
    def _clamp(cls, v: int) -> int:
        return min(v, 10)


class FloatField(BaseModel):
    f: float = 0.0
    t: tuple[int, ...] = ()
    d: datetime.datetime = datetime.datetime(2000, 1, 1)


class Totalled(BaseModel):
    """A model_validator(mode="after") that derives a field: stale after mutation."""

    a: int
    b: int
    total: int = 0

    @pydantic.model_validator(mode="after")
    def _total(self) -> "Totalled":
        object.__setattr__(self, "total", self.a + self.b)
        return self


class CountsInit(BaseModel):
    """An __init__ override with an observable effect on every construction."""

    a: int
    inits: int = 0

    def __init__(self, **kw: Any) -> None:
        kw["inits"] = kw.get("inits", 0) + 1
        super().__init__(**kw)


class Wrapped(BaseModel):
    n: int

    @pydantic.field_validator("n", mode="wrap")
    @classmethod
    def _cap(cls, v: Any, handler: Any) -> int:
        return min(handler(v), 100)
