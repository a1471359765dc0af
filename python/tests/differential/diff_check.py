"""The differential oracle of test_differential.py: FastSerializer against JsonPlusSerializer.

``Checker(classes).check(value)`` compares, for every allowlist mode (permissive default,
explicit ``allowed_msgpack_modules`` naming ``classes``, strict ``None``) and both
``validate_models`` values of FastSerializer (JsonPlusSerializer always validates: it is the
oracle for both):

* ``dumps_typed``: same tag and bytes, or both raise (both a ``TypeError``: ormsgpack's
  ``MsgpackEncodeError`` / fast_serde's ``EncodeError``; otherwise the same exception type);
* ``loads_typed`` of the parent's bytes by both, READS (5) times in a row (per-class caches and
  memos: every later read of a class or payload must give what the first gave, and share no
  mutable object with an earlier read) and, when the bytes differ,
  of each side's bytes by the other: type-strict equal objects (``lg_strategies.assert_same``:
  same types all the way down, ``==``, ``model_fields_set``, ``__pydantic_extra__``);
* with ``pickle_fallback=True``: the same tag (and the same pickle bytes).

One Checker holds one pair of serializers per mode for its whole life, so a sequence of
``check`` calls exercises whatever each side caches between objects.
"""

from __future__ import annotations

import dataclasses
import enum
import pickle
import reprlib
from typing import Any

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer, _msgpack_ext_hook_to_json

from diff_values import allow_key, filtered
from fast_serde.langgraph import FastSerializer
from lg_strategies import assert_same

MODES = ("permissive", "explicit", "strict")

#: reads of the same bytes per serializer: per-class caches decide on the first object, a memo of
#: payloads (main's issue 14) marks on the first sight, keeps on the second, verifies on the third
#: and serves from the fourth on
READS = 5

_repr = reprlib.Repr()
_repr.maxstring = 80
_repr.maxother = 200
_repr.maxlevel = 4


def short(v: Any) -> str:
    try:
        return _repr.repr(v)
    except Exception as exc:  # noqa: BLE001 - a repr that raises
        return f"<repr raised {type(exc).__name__}>"


class Discrepancy(AssertionError):
    pass


def outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args)
    except Exception as exc:  # noqa: BLE001 - the exception is the outcome
        return "raise", exc


def same_exception(a: BaseException, b: BaseException) -> bool:
    """Both raised "the same": both TypeErrors (encode), both ValueErrors (decode), or one type."""
    return (
        type(a) is type(b)
        or (isinstance(a, TypeError) and isinstance(b, TypeError))
        or (isinstance(a, ValueError) and isinstance(b, ValueError))
    )


def mode_kwargs(mode: str, classes: list[type]) -> dict[str, Any]:
    if mode == "permissive":
        return {}
    if mode == "strict":
        return {"allowed_msgpack_modules": None}
    keys = sorted({allow_key(c) for c in classes})
    return {"allowed_msgpack_modules": keys or None}


class Stats:
    """Counters read by the terminal summary (conftest.py)."""

    examples = 0
    classes = 0  # classes built (diff_values.fresh_name) in this process
    values = 0
    comparisons = 0
    seconds = 0.0


class Checker:
    def __init__(self, classes: list[type]) -> None:
        self.classes = list(classes)
        self.kw = {m: mode_kwargs(m, self.classes) for m in MODES}
        self.parents = {m: JsonPlusSerializer(**self.kw[m]) for m in MODES}
        self.fast = {(m, v): FastSerializer(**self.kw[m], validate_models=v) for m in MODES for v in (True, False)}
        self.pickle_pair = (JsonPlusSerializer(pickle_fallback=True), FastSerializer(pickle_fallback=True))
        # LangGraph Server's JSON reads: the ext hook is the parent's _msgpack_ext_hook_to_json
        self.json_pair = (JsonPlusSerializer(__unpack_ext_hook__=_msgpack_ext_hook_to_json),
                          FastSerializer(__unpack_ext_hook__=_msgpack_ext_hook_to_json))
        self.n = 0

    def refresh_fast(self) -> None:
        """New FastSerializers (the known-issue filter for stale classes after a redefinition)."""
        self.fast = {k: FastSerializer(**self.kw[k[0]], validate_models=k[1]) for k in self.fast}

    def _fast_for_load(self, mode: str, validate: bool, data: bytes) -> FastSerializer:
        # issue 11 #2: the trust decision is cached under an allowlist, and for the SAFE_MSGPACK_TYPES
        # (LangChain messages, Document) in every mode
        if not validate and (mode != "permissive" or b"langchain_core" in data) and filtered("trusted-allowlist-cache"):
            return FastSerializer(**self.kw[mode], validate_models=False)
        return self.fast[(mode, validate)]

    def check(self, value: Any, label: str = "") -> None:
        self.n += 1
        Stats.values += 1
        where = f"value #{self.n}{' (' + label + ')' if label else ''}: {short(value)}"
        self._check_pickle(value, where)
        self._check_json(value, where)
        for mode in MODES:
            j = self.parents[mode]
            tj = outcome(j.dumps_typed, value)
            for validate in (True, False):
                ctx = f"{where}\n  mode={mode} validate_models={validate}"
                f = self.fast[(mode, validate)]
                tf = outcome(f.dumps_typed, value)
                Stats.comparisons += 1
                if tj[0] == "raise" or tf[0] == "raise":
                    if tj[0] == tf[0] and same_exception(tf[1], tj[1]):
                        continue
                    raise Discrepancy(f"dumps_typed differs for {ctx}\n  JsonPlus: {_show(tj)}\n  Fast:     {_show(tf)}")
                if tf[1][0] != tj[1][0] or bytes(tf[1][1]) != bytes(tj[1][1]):
                    raise Discrepancy(
                        f"dumps_typed bytes differ for {ctx}\n  JsonPlus: {tj[1][0]} {bytes(tj[1][1])!r}\n"
                        f"  Fast:     {tf[1][0]} {bytes(tf[1][1])!r}"
                    )
                data = bytes(tj[1][1])
                if not validate and mode != "permissive" and data.count(b"model_validate_json") > 1 and filtered("trusted-allowlist-cache"):
                    continue  # issue 11 #2 within one read: two models, the first decides the trust
                self._check_loads(j, self._fast_for_load(mode, validate, data), tj[1], ctx)

    def check_bytes(self, data: bytes, label: str = "") -> None:
        """``loads_typed`` of MessagePack ``data`` written by hand (not by an encoder) in every mode
        and both ``validate_models``, READS times, against JsonPlusSerializer's read."""
        self.n += 1
        Stats.values += 1
        where = f"document #{self.n}{' (' + label + ')' if label else ''}"
        for mode in MODES:
            for validate in (True, False):
                Stats.comparisons += 1
                ctx = f"{where}\n  mode={mode} validate_models={validate}"
                self._check_loads(self.parents[mode], self.fast[(mode, validate)], ("msgpack", data), ctx)

    def _check_loads(self, j: JsonPlusSerializer, f: FastSerializer, data: tuple[str, bytes], ctx: str) -> None:
        expected = outcome(j.loads_typed, data)
        for attempt in range(READS):  # the same class (and payload) again and again
            got = outcome(f.loads_typed, data)
            _same_outcome(got, expected, f"loads_typed (read #{attempt + 1}) differs for {ctx}\n  bytes: {bytes(data[1])!r}")
            if got[0] == "ok":
                # JsonPlus builds fresh objects on every read: nothing shared between reads or
                # between two places of one result (a cache or memo must copy what it hands out)
                ga, ea = alias_shape(got[1]), alias_shape(expected[1])
                if ga != ea:
                    raise Discrepancy(f"loads_typed (read #{attempt + 1}) shares mutable objects JsonPlus does not for {ctx}\n"
                                      f"  bytes: {bytes(data[1])!r}\n  JsonPlus: {ea}\n  Fast:     {ga}")
                poison(got[1])  # the next read must not see this
        # the parent reading its own bytes again agrees with its first read (oracle sanity)
        again = outcome(j.loads_typed, data)
        _same_outcome(again, expected, f"JsonPlus itself is not deterministic for {ctx}")

    def _check_json(self, value: Any, where: str) -> None:
        """Both read the parent's bytes with ``_msgpack_ext_hook_to_json`` to the same plain data."""
        j, f = self.json_pair
        tj = outcome(j.dumps_typed, value)
        if tj[0] == "raise" or tj[1][0] != "msgpack":
            return
        Stats.comparisons += 1
        expected = outcome(j.loads_typed, tj[1])
        _same_outcome(outcome(f.loads_typed, tj[1]), expected,
                      f"loads_typed with _msgpack_ext_hook_to_json differs for {where}\n  bytes: {bytes(tj[1][1])!r}")

    def _check_pickle(self, value: Any, where: str) -> None:
        jp, fp = self.pickle_pair
        tj, tf = outcome(jp.dumps_typed, value), outcome(fp.dumps_typed, value)
        if tj[0] == "raise" or tf[0] == "raise":
            if tj[0] == tf[0] and same_exception(tf[1], tj[1]):
                return
            raise Discrepancy(f"pickle_fallback=True dumps_typed differs for {where}\n  JsonPlus: {_show(tj)}\n  Fast:     {_show(tf)}")
        if tj[1][0] != tf[1][0]:
            raise Discrepancy(f"pickle_fallback=True picks another tag for {where}\n  JsonPlus: {tj[1][0]}\n  Fast:     {tf[1][0]}")
        if tj[1][0] == "pickle":
            if bytes(tf[1][1]) != bytes(tj[1][1]):
                if filtered("exception-dict-materialized") and pickle.dumps(value) == bytes(tf[1][1]):
                    return  # N3: the value changed under FastSerializer (an empty exception __dict__)
                raise Discrepancy(f"pickle_fallback=True: pickle bytes differ for {where}\n  JsonPlus: {bytes(tj[1][1])!r}\n  Fast:     {bytes(tf[1][1])!r}")


def _show(o: tuple[str, Any]) -> str:
    if o[0] == "raise":
        return f"raises {type(o[1]).__module__}.{type(o[1]).__qualname__}: {str(o[1])[:300]}"
    return f"returns {short(o[1])}"


def _same_outcome(got: tuple[str, Any], expected: tuple[str, Any], msg: str) -> None:
    if got[0] != expected[0]:
        raise Discrepancy(f"{msg}\n  JsonPlus: {_show(expected)}\n  Fast:     {_show(got)}")
    if got[0] == "raise":
        if not same_exception(got[1], expected[1]):
            raise Discrepancy(f"{msg}\n  JsonPlus: {_show(expected)}\n  Fast:     {_show(got)}")
        return
    try:
        assert_same(got[1], expected[1])
    except AssertionError as exc:
        raise Discrepancy(f"{msg}\n  JsonPlus: {_show(expected)}\n  Fast:     {_show(got)}\n  first difference: {exc}") from None


def run_sequence(classes: list[type], values: list[Any]) -> Checker:
    """Check ``values`` in a row with one Checker (one pair of serializers per mode)."""
    checker = Checker(classes)
    for i, v in enumerate(values):
        checker.check(v, f"{i + 1} of {len(values)}")
    return checker


_MUTABLE = (list, dict, set, bytearray)


def _children(obj: Any) -> list[Any]:
    if isinstance(obj, (type, enum.Enum)):
        return []  # shared by design (classes, enum members)
    if isinstance(obj, dict):
        return [*obj.keys(), *obj.values()]
    if isinstance(obj, (list, tuple, set, frozenset)):
        return list(obj)
    d = getattr(obj, "__dict__", None)
    if isinstance(d, dict):
        extra = getattr(obj, "__pydantic_extra__", None)
        return [d, *([extra] if isinstance(extra, dict) else [])]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return [getattr(obj, f.name, None) for f in dataclasses.fields(obj)]
    return []


def _is_mutable(obj: Any) -> bool:
    return isinstance(obj, _MUTABLE) or (isinstance(getattr(obj, "__dict__", None), dict) and not isinstance(obj, (type, enum.Enum)))


def alias_shape(obj: Any) -> list[int]:
    """The aliasing of the mutable objects in ``obj``: each one numbered by first sight, listed in
    traversal order (``[0, 1, 1]``: the second and third places hold the very same object)."""
    ids: dict[int, int] = {}
    out: list[int] = []
    stack = [obj]
    while stack and len(out) < 10_000:
        o = stack.pop()
        if _is_mutable(o):
            seen = id(o) in ids
            out.append(ids.setdefault(id(o), len(ids)))
            if seen:
                continue
        stack.extend(reversed(_children(o)))
    return out


_POISON = "<poisoned by diff_check>"


def poison(obj: Any) -> None:
    """Change every mutable object in ``obj`` in place (append to lists, add a dict key, add to
    sets), so that a later read sharing any of them shows it."""
    seen: set[int] = set()
    stack = [obj]
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        stack.extend(_children(o))
        if isinstance(o, list):
            o.append(_POISON)
        elif isinstance(o, dict):
            o[_POISON] = _POISON
        elif isinstance(o, set):
            o.add(_POISON)
        elif isinstance(o, bytearray):
            o.extend(b"!")


#: loads of the same bytes by check_memo_loads: mark, keep a template, then hits
MEMO_READS = 6

_UNSET = object()


def instance_state(obj: Any) -> list[Any]:
    """Everything of a model instance a memo template must rebuild: ``__dict__``, private
    attributes, extras and the values of ``__slots__`` declared anywhere in its MRO (the unset
    ones as a marker)."""
    slots: list[str] = []
    for c in type(obj).__mro__:
        declared = vars(c).get("__slots__", ())
        slots += [declared] if isinstance(declared, str) else list(declared)
    own = [(s, getattr(obj, s, _UNSET)) for s in slots if not s.startswith("__")]
    return [obj.__dict__, getattr(obj, "__pydantic_private__", None), getattr(obj, "__pydantic_extra__", None), own]


def check_memo_loads(classes: list[type], value: Any, switches: list[bool], switch: dict[str, bool], ctx: str) -> None:
    """Load JsonPlusSerializer's bytes of ``value`` len(switches) (≥ MEMO_READS) times with each
    of FastSerializer (both ``validate_models``) and JsonPlusSerializer, setting
    ``switch["on"]`` before each load pair (what a generated validator reads): every pair the same
    object (types, ``__dict__``, fields set, extras, private attributes, slots) with the same
    aliasing inside it."""
    kw = mode_kwargs("explicit", classes)
    j = JsonPlusSerializer(**kw)
    data = outcome(j.dumps_typed, value)
    if data[0] == "raise":
        return
    for validate in (True, False):
        f = FastSerializer(**kw, validate_models=validate)
        tf = outcome(f.dumps_typed, value)
        if tf[0] != "ok" or bytes(tf[1][1]) != bytes(data[1][1]):
            raise Discrepancy(f"dumps_typed differs for {ctx}\n  JsonPlus: {_show(data)}\n  Fast:     {_show(tf)}")
        try:
            for attempt, on in enumerate(switches):
                switch["on"] = on
                got, expected = outcome(f.loads_typed, data[1]), outcome(j.loads_typed, data[1])
                msg = f"loads_typed (read #{attempt + 1}, switch {on}, validate_models={validate}) differs for {ctx}\n  bytes: {bytes(data[1][1])!r}"
                _same_outcome(got, expected, msg)
                if got[0] != "ok":
                    continue
                gs, es = instance_state(got[1]), instance_state(expected[1])
                _same_outcome(("ok", gs), ("ok", es), msg + " (instance state)")
                if alias_shape(gs) != alias_shape(es):
                    raise Discrepancy(f"{msg}\n  aliasing: JsonPlus {alias_shape(es)}, Fast {alias_shape(gs)}")
                poison(gs)  # the next load must not see this
        finally:
            switch["on"] = False
