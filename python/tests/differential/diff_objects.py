"""Objects and classes for the differential test (test_differential.py) that the per-object and
per-class checks must tell apart: exceptions, instance attributes that steer an object
(``steer``), classes patched after their first object was written, and the classes the memo of
validated models must serve exactly or not at all (issue 19). Built on diff_gen.py's generated
types and diff_values.py's values.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
from typing import Any
from typing import ClassVar as typing_ClassVar

import pydantic
import pydantic.dataclasses
from hypothesis import strategies as st
from pydantic import BaseModel, Field, field_validator

from diff_gen import Gen
from diff_values import (
    MODULE_NAME,
    filtered,
    fresh_name,
    ints,
    key_text,
    memo_filtered,
    register,
    texts,
)

# --- exceptions, Send-shaped objects, instance attributes --------------------------------------------


@st.composite
def exception_gen(draw: st.DrawFn) -> Gen:
    base = draw(st.sampled_from([Exception, ValueError, KeyError, RuntimeError]))
    cls = register(type(fresh_name("X"), (base,), {"__module__": MODULE_NAME}))
    return Gen(cls, st.lists(st.one_of(ints, key_text), max_size=2).map(lambda a: cls(*a)), [cls], None, False, cls.__name__)


#: Attributes that steer `_msgpack_default` when an instance carries them (issue 11 #7 and the
#: hasattr probes of its branches).
STEERING_ATTRS = ["node", "arg", "timeout", "model_dump", "get_secret_value", "dict", "_asdict", "value"]


def steer(obj: Any, attrs: list[str], payload: Any) -> Any:
    """Give ``obj`` instance attributes after its class was first written (object.__setattr__,
    so frozen dataclasses take them too). Callables return ``payload``."""
    if filtered("node-arg-after-first") and {"node", "arg"} <= set(attrs) and (
        isinstance(obj, BaseException) or _is_frozen_dc(obj)
    ):
        attrs = [a for a in attrs if a != "arg"]
    for a in attrs:
        v: Any = payload
        if a in ("model_dump", "get_secret_value", "dict", "_asdict"):
            v = (lambda p=payload: p) if a != "_asdict" else (lambda p=payload: {"p": p})
        try:
            object.__setattr__(obj, a, v)
        except (AttributeError, TypeError):
            pass
    return obj


def _is_frozen_dc(obj: Any) -> bool:
    params = getattr(type(obj), "__dataclass_params__", None)
    return bool(params and params.frozen)


# --- classes patched after their first object was written ----------------------------------------

#: name -> (applies to an instance of the class?, patch(cls) -> undo()). JsonPlus decides per
#: object, from the class as it is now.
def _patch_attr(name: str, value: Any) -> Any:
    def patch(cls: type) -> Any:
        had = name in vars(cls)
        old = vars(cls).get(name)
        setattr(cls, name, value)

        def undo() -> None:
            if had:
                setattr(cls, name, old)
            else:
                delattr(cls, name)

        return undo

    return patch


def _patch_dataclass_fields(cls: type) -> Any:
    old = cls.__dataclass_fields__  # type: ignore[attr-defined]
    cls.__dataclass_fields__ = {k: v for k, v in list(old.items())[:-1]}  # type: ignore[attr-defined]
    return lambda: setattr(cls, "__dataclass_fields__", old)


def _patch_model_config(cls: type) -> Any:
    """``model_config`` changed and ``model_rebuild(force=True)``: validation now upper-cases strs."""
    old = dict(cls.model_config)  # type: ignore[attr-defined]
    cls.model_config["str_to_upper"] = True  # type: ignore[attr-defined]
    cls.model_rebuild(force=True)  # type: ignore[attr-defined]

    def undo() -> None:
        cls.model_config.clear()  # type: ignore[attr-defined]
        cls.model_config.update(old)  # type: ignore[attr-defined]
        cls.model_rebuild(force=True)  # type: ignore[attr-defined]

    return undo


def _patch_init(cls: type) -> Any:
    """``__init__`` replaced: JsonPlus's ``cls(**kwargs)`` runs it on every load."""
    orig = cls.__dict__.get("__init__")

    def __init__(self: Any, **kw: Any) -> None:
        BaseModel.__init__(self, **kw)
        object.__setattr__(self, "__pydantic_fields_set__", set())

    cls.__init__ = __init__  # type: ignore[misc]
    return lambda: setattr(cls, "__init__", orig) if orig is not None else delattr(cls, "__init__")


CLASS_PATCHES: dict[str, tuple[Any, Any]] = {
    "model-config-rebuild": (lambda o: isinstance(o, BaseModel), _patch_model_config),
    "__init__": (lambda o: isinstance(o, BaseModel), _patch_init),
    "model_dump": (lambda o: True, _patch_attr("model_dump", lambda self, **kw: {"patched": 1})),
    "get_secret_value": (lambda o: not isinstance(o, BaseModel), _patch_attr("get_secret_value", lambda self: "secret")),
    "dict": (lambda o: not isinstance(o, BaseModel), _patch_attr("dict", lambda self: {"v1": 1})),
    "_asdict": (lambda o: not isinstance(o, BaseModel), _patch_attr("_asdict", lambda self: {"nt": 1})),
    "node+arg": (lambda o: True, lambda cls: _chain(_patch_attr("node", "n")(cls), _patch_attr("arg", 1)(cls))),
    "__repr__": (lambda o: isinstance(o, BaseException), _patch_attr("__repr__", lambda self: "patched-repr")),
    "dataclass-fields": (lambda o: dataclasses.is_dataclass(o) and len(dataclasses.fields(o)) > 0, _patch_dataclass_fields),
    "year-property": (lambda o: isinstance(o, datetime.date) and not isinstance(o, datetime.datetime), _patch_attr("year", property(lambda self: 1999))),
    "__str__": (lambda o: isinstance(o, decimal.Decimal), _patch_attr("__str__", lambda self: "7")),
}
#: the patches FastSerializer follows today (N4 covers the others)
CLASS_PATCHES_AGREEING = ["__repr__", "__str__"]


def _chain(*undos: Any) -> Any:
    return lambda: [u() for u in reversed(undos)]


#: the patches that change how a payload is read (N7: main's memo keeps serving the old result)
DECODE_PATCHES = ["model-config-rebuild", "__init__"]


def class_patch_names() -> list[str]:
    names = CLASS_PATCHES_AGREEING + DECODE_PATCHES if filtered("class-patched-after-first") else list(CLASS_PATCHES)
    if memo_filtered("memo-class-patched"):
        names = [n for n in names if n not in DECODE_PATCHES]
    return names


# --- classes the memo of validated models must tell apart (issue 19) ------------------------------

#: what a generated validator reads besides its payload; memo_loads flips it between loads
MEMO_SWITCH = {"on": False}
#: one object every instance of a class with a sharing default_factory holds
MEMO_SHARED: list[int] = [7]

#: the behaviours memo_model_gen mixes into a model. An opted-in class (``__fast_serde_memo__``)
#: only gets the honest ones: its validation depends on the payload alone.
MEMO_BEHAVIOURS = ["reads-global", "slots-post-init", "aliasing-post-init", "class-counter", "default-factory",
                   "shared-factory", "private-default", "mutable-default"]  # fmt: skip
MEMO_HONEST = ["aliasing-post-init", "default-factory", "private-default", "mutable-default"]


def _memo_reads_global(cls: Any, v: str) -> str:
    return v + "!" if MEMO_SWITCH["on"] else v


def _memo_counter_validator(cls: Any, data: Any) -> Any:
    cls.loaded += 1  # a ClassVar changed on every validation (a new tp_version_tag each time)
    return data


@st.composite
def memo_model_gen(draw: st.DrawFn) -> Gen:
    """A pydantic model with plain fields (what a memo template holds) and some of
    ``MEMO_BEHAVIOURS``: validators reading ``MEMO_SWITCH``, ``__slots__`` filled by
    ``model_post_init``, a post-init aliasing a field (``self._view = self.items``), a
    ``ClassVar`` counter bumped by a model validator, default factories (fresh or shared), private
    and mutable defaults; sometimes opted in (honest behaviours only)."""
    opted_in = draw(st.booleans())
    pool = MEMO_HONEST if opted_in else MEMO_BEHAVIOURS
    main = draw(st.sampled_from([*pool, "plain"]), label="behaviour")  # each one often, alone
    kinds = [k for k in pool if k == main or draw(st.booleans(), label=k)]
    ns: dict[str, Any] = {"__module__": MODULE_NAME, "__annotations__": {"text": str, "items": list[str], "n": int}}
    ns["n"] = 0
    if opted_in:
        ns["__fast_serde_memo__"] = True
    post: list[Any] = []
    if "reads-global" in kinds:
        ns["_g"] = field_validator("text")(classmethod(_memo_reads_global))
    if "slots-post-init" in kinds:
        ns["__slots__"] = ("_seen",)
        post.append(lambda self: object.__setattr__(self, "_seen", [self.text, MEMO_SWITCH["on"]]))
    if "aliasing-post-init" in kinds:
        ns["_view"] = pydantic.PrivateAttr(default=None)
        post.append(lambda self: setattr(self, "_view", self.items))
    if "class-counter" in kinds:
        ns["__annotations__"]["loaded"] = typing_ClassVar[int]
        ns["loaded"] = 0
        ns["_c"] = pydantic.model_validator(mode="before")(classmethod(_memo_counter_validator))
    if "default-factory" in kinds:
        ns["__annotations__"]["tags"] = list[str]
        ns["tags"] = Field(default_factory=list)
    if "shared-factory" in kinds:
        ns["__annotations__"]["shared"] = list[int]
        ns["shared"] = Field(default_factory=lambda: MEMO_SHARED)
    if "private-default" in kinds:
        ns["_p"] = pydantic.PrivateAttr(default=draw(st.sampled_from([0, "p", (1, "x"), [1], {"k": [2]}])))
    if "mutable-default" in kinds:
        ns["__annotations__"]["opts"] = dict[str, int]
        ns["opts"] = {"a": 1}
    if post:
        def model_post_init(self: Any, context: Any, _post: list[Any] = post) -> None:
            for p in _post:
                p(self)

        ns["model_post_init"] = model_post_init
    cls = register(type(fresh_name("Memo"), (BaseModel,), ns))
    texts = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8)
    values = st.builds(lambda t, it, n, drop: cls(text=t, items=it, n=n) if not drop else cls(text=t, items=it),
                       texts, st.lists(texts, max_size=3), st.integers(-5, 5), st.booleans())  # fmt: skip
    return Gen(cls, values, [cls], None, False, "memo:" + ",".join(sorted(kinds)) + (" opted-in" if opted_in else ""))
