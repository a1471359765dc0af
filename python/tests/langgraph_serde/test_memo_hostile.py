"""A hostile pass on the memo's tree copy, its table of marks and trusted restore's fields set
(after the memo rebuilt trees without an identity map and marked first sights in a table).

Each test failed before its fix: `model_fields_set` iterated in another order than
JsonPlusSerializer's (a set copied whole is sized up front; pydantic-core adds the names one at a
time), a huge `memo_bytes` aborted the process allocating the table of marks, tiny budgets were
charged a table no entry could use, a cycle of distinct payloads lost a third of its templates
to marks overwriting each other, and code run by the GC during a hit could empty the template
being copied under the copy.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pydantic import BaseModel, ConfigDict

from fast_serde.langgraph import FastSerializer

LOADS = 5  # mark, keep a template, then hits


def _run(code: str, seed: int = 0) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONHASHSEED=str(seed))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=120
    )


ORDER = """
    import logging, warnings
    logging.disable(logging.CRITICAL); warnings.filterwarnings("ignore")
    from typing import Any
    from pydantic import BaseModel, ConfigDict, create_model
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage, ChatMessage
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
    from fast_serde.langgraph import FastSerializer

    import sys

    def wide(n):
        cls = create_model(f"Wide{n}", **{f"f{i}": (Any, None) for i in range(n)})
        cls.__fast_serde_memo__ = True
        globals()[cls.__name__] = cls  # found by name on loads
        return cls(**{f"f{i}": i for i in range(n)})

    def layout(s):
        # Everything a set's table decides: its order, its size, and how it grows and shrinks.
        grown = set(s)
        grown.update(f"zz{i}" for i in range(40))
        pops = [s.copy().pop() for _ in range(1)]
        t = set(s)
        while t:
            pops.append(t.pop())
        return list(s), sys.getsizeof(s), list(grown), pops

    class Extras(BaseModel):
        model_config = ConfigDict(extra="allow")
        __fast_serde_memo__ = True
        a: int
        b: str

    values = [
        HumanMessage(content="x"),
        AIMessage(content="y", tool_calls=[{"name": "t", "args": {"q": 1}, "id": "c1"}]),
        ToolMessage(content="z", tool_call_id="c1"),
        ChatMessage(content="w", role="critic"),
        *[wide(n) for n in (1, 3, 4, 5, 6, 8, 9, 12, 17, 33)],
        Extras(a=1, b="s", **{f"x{i}": i for i in range(9)}),
    ]
    j = JsonPlusSerializer()
    bad = []
    for kw in ({}, {"validate_models": False}):
        f = FastSerializer(**kw)
        for v in values:
            blob = j.dumps_typed(v)
            for i in range(5):
                got, ref = f.loads_typed(blob), j.loads_typed(blob)
                got_s, ref_s = got.model_fields_set, ref.model_fields_set
                if layout(got_s) != layout(ref_s):
                    bad.append((kw, type(v).__name__, i))
    print(bad)
"""


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_fields_set_iterates_in_jsonplus_order(seed: int) -> None:
    """On memo hits and in trusted restore, under several hash seeds (the order depends on it),
    for 1 to 33 fields: the same order, size, growth and pops (a set copied from a prototype
    must have the very table pydantic-core's one-at-a-time adds give)."""
    r = _run(ORDER, seed)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


class Note(BaseModel):
    text: str
    tags: list[str]


@pytest.mark.parametrize("budget", [2**62, sys.maxsize, 10**12])
def test_a_huge_budget_holds_a_bounded_table(budget: int) -> None:
    """An 'unlimited' budget: the table of marks is at most 512 KiB, allocated without aborting."""
    r = _run(
        f"""
        from pydantic import BaseModel
        from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
        from fast_serde.langgraph import FastSerializer
        class Note(BaseModel):
            text: str
        j = JsonPlusSerializer()
        f = FastSerializer(memo_bytes={budget})
        blob = j.dumps_typed(Note(text="n"))
        for _ in range(4):
            assert f.loads_typed(blob) == j.loads_typed(blob)
        s = f.memo_stats()
        print(s["hits"], s["marks"] == 512 << 10, s["bytes"] <= (512 << 10) + 4096)
        """
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["2", "True", "True"]


@pytest.mark.parametrize("budget", [1, 100, 511, 1000, 4096])
def test_a_budget_too_small_for_any_entry_is_charged_nothing(budget: int) -> None:
    j, f = JsonPlusSerializer(), FastSerializer(memo_bytes=budget)
    blob = j.dumps_typed(Note(text="x" * 40, tags=["a"]))
    for _ in range(LOADS):
        assert f.loads_typed(blob) == j.loads_typed(blob)
    stats = f.memo_stats()
    assert stats["bytes"] == 0 and stats["entries"] == 0 and stats["hits"] == 0


class Cycled(BaseModel):
    a: list[Any]


def test_a_cycle_of_distinct_payloads_keeps_its_templates() -> None:
    """1500 payloads loaded in a fixed cycle with room for all: marks that share a slot no longer
    overwrite each other forever (1030 of 1500 were kept before; buckets of four now)."""
    j = JsonPlusSerializer()
    blobs = [j.dumps_typed(Cycled(a=[i, "x" * (i % 50), [i]])) for i in range(1500)]
    f = FastSerializer(memo_bytes=2_000_000)
    for _ in range(4):
        for b in blobs:
            f.loads_typed(b)
    stats = f.memo_stats()
    assert stats["fills"] >= 1425 and stats["bytes"] <= stats["budget"]


def test_the_gc_emptying_a_template_during_a_hit_does_not_crash() -> None:
    """A gc callback reaches the template's list through gc.get_objects() and clears it while a
    hit copies it (a tree template, copied without the identity map)."""
    r = _run(
        """
        import gc
        from typing import Any
        from pydantic import BaseModel
        from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
        from fast_serde.langgraph import FastSerializer

        MARK = "template-marker-" + "x" * 8
        class T(BaseModel):
            a: list[Any]
        blob = JsonPlusSerializer().dumps_typed(T(a=[MARK] + [[i, [i]] for i in range(200)]))
        for fire_at in (2, 3, 5, 8):
            f = FastSerializer()
            for _ in range(3):
                f.loads_typed(blob)
            armed = {"on": False, "n": 0}
            def cb(phase, info, armed=armed, fire_at=fire_at):
                if phase != "start" or not armed["on"]:
                    return
                armed["n"] += 1
                if armed["n"] >= fire_at:
                    armed["on"] = False
                    for o in gc.get_objects():
                        if type(o) is list and len(o) > 100 and o[0] == MARK:
                            o.clear()
            gc.callbacks.append(cb)
            gc.set_threshold(1)
            for _ in range(20):
                armed["on"], armed["n"] = True, 0
                f.loads_typed(blob)
            gc.callbacks.remove(cb)
            gc.set_threshold(700)
        print("survived")
        """
    )
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    assert r.stdout.strip() == "survived"


class Shared(BaseModel):
    """Opted in; its private state aliases a field and its extras: not a tree."""

    model_config = ConfigDict(extra="allow")
    __fast_serde_memo__ = True
    items: list[list[int]]

    def model_post_init(self, context: Any) -> None:
        self.__pydantic_private__ = {"view": self.items, "first": self.items[0]}


def test_a_template_that_is_not_a_tree_keeps_its_aliasing_on_hits() -> None:
    j, f = JsonPlusSerializer(), FastSerializer()
    blob = j.dumps_typed(Shared(items=[[1], [2]], extra_one=[3]))
    for _ in range(LOADS):
        got = f.loads_typed(blob)
        assert got.__pydantic_private__["view"] is got.items
        assert got.__pydantic_private__["first"] is got.items[0]
        assert list(got.model_fields_set) == list(j.loads_typed(blob).model_fields_set)
    assert f.memo_stats()["hits"] == LOADS - 2



# --- helper-28: a fields set the template cannot rebuild, and BaseExceptions in a keep or a restore


SET_STATE = """
    import sys, logging
    logging.disable(logging.CRITICAL)
    from pydantic import BaseModel, ConfigDict
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
    from fast_serde.langgraph import FastSerializer

    class Presized(BaseModel):
        __fast_serde_memo__ = True
        f0: int; f1: int; f2: int; f3: int; f4: int
        def model_post_init(self, ctx):
            # set(s) sizes its table up front: same order, another size
            object.__setattr__(self, "__pydantic_fields_set__", set(self.__pydantic_fields_set__))

    class Discarded(BaseModel):
        model_config = ConfigDict(extra="allow")
        __fast_serde_memo__ = True
        f0: int; f1: int; f2: int; f3: int
        def model_post_init(self, ctx):
            self.__pydantic_fields_set__.discard("x0")  # a deleted slot: grows otherwise

    class Popped(BaseModel):
        model_config = ConfigDict(extra="allow")
        __fast_serde_memo__ = True
        f0: int
        def model_post_init(self, ctx):
            s = self.__pydantic_fields_set__
            s.add("tmp"); s.pop() if "tmp" == next(iter(s)) else s.discard("tmp")

    def probe(s):
        sizes, orders = [sys.getsizeof(s)], [list(s)]
        for i in range(40):
            s.add(f"zz{i}")
            sizes.append(sys.getsizeof(s))
        orders.append(list(s))
        pops = []
        while s:
            pops.append(s.pop())
        return sizes, orders, pops

    j, f = JsonPlusSerializer(), FastSerializer()
    values = [
        Presized(**{f"f{i}": i for i in range(5)}),
        Discarded(f0=0, f1=1, f2=2, f3=3, x0=0, x1=1, x2=2),
        Popped(f0=0, x0=1, x1=2),
    ]
    bad = []
    for v in values:
        blob = j.dumps_typed(v)
        for i in range(5):
            if probe(f.loads_typed(blob).model_fields_set) != probe(j.loads_typed(blob).model_fields_set):
                bad.append((type(v).__name__, i))
    print(bad)
"""


@pytest.mark.parametrize("seed", [0, 2, 5, 15])
def test_a_fields_set_whose_table_differs_is_not_served_from_the_memo(seed: int) -> None:
    """A model_post_init that replaces the fields set by a presized copy, discards an extra's name
    or pops: the validated set iterates as one built name by name, yet its table's size, deleted
    slots or pop position differ. A hit's set must be that very table, or the class is validated
    (helper-28: sizes 728 against 472; a resize on the 12th add instead of later)."""
    r = _run(SET_STATE, seed)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_a_keyboard_interrupt_while_the_memo_reads_its_template_propagates() -> None:
    """A metaclass whose __getattribute__ is interrupted while the memo reads the class's fields
    (taking a template at the second sight): the load raises, as every BaseException must."""
    r = _run(
        """
        import logging; logging.disable(logging.CRITICAL)
        from pydantic import BaseModel
        from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
        from fast_serde.langgraph import FastSerializer
        ARMED = [False]
        class Meta(type(BaseModel)):
            def __getattribute__(cls, name):
                if ARMED[0] and name == "__pydantic_fields__":
                    ARMED[0] = False
                    raise KeyboardInterrupt("Ctrl-C")
                return super().__getattribute__(name)
        class M(BaseModel, metaclass=Meta):
            __fast_serde_memo__ = True
            a: int
        blob = JsonPlusSerializer().dumps_typed(M(a=1))
        f = FastSerializer()
        f.loads_typed(blob)  # first sight: a mark
        ARMED[0] = True
        out = []
        for i in range(2):
            try:
                out.append(repr(f.loads_typed(blob)))
            except KeyboardInterrupt:
                out.append("KeyboardInterrupt")
        print(out)
        """
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "['KeyboardInterrupt', 'M(a=1)']"


def test_a_keyboard_interrupt_while_a_slot_is_set_propagates() -> None:
    """A property over a pydantic slot, interrupted while trusted restore (or a memo hit) sets
    it: the load raises; it used to validate instead, the interrupt consumed."""
    r = _run(
        """
        import logging; logging.disable(logging.CRITICAL)
        from pydantic import BaseModel
        from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
        from fast_serde.langgraph import FastSerializer, _trusted
        class M(BaseModel):
            __fast_serde_memo__ = True
            a: int
            b: str
        blob = JsonPlusSerializer().dumps_typed(M(a=1, b="x"))
        out = []
        for slot in ("__pydantic_private__", "__pydantic_fields_set__"):
            descr = BaseModel.__dict__[slot]
            shots = []
            def set_(self, v, descr=descr, shots=shots):
                if shots:
                    shots.pop()
                    raise KeyboardInterrupt("Ctrl-C")
                descr.__set__(self, v)
            for kw in ({"validate_models": False}, {}):
                class N(M):
                    pass
                setattr(N, slot, property(descr.__get__, set_))
                globals()["N"] = N
                nblob = JsonPlusSerializer().dumps_typed(N(a=1, b="x"))
                f = FastSerializer(**kw)
                for i in range(4):
                    shots.append(1)
                    try:
                        f.loads_typed(nblob)
                        out.append("returned" if shots else "consumed")
                    except KeyboardInterrupt:
                        out.append("raised")
                    shots.clear()
        print(sorted(set(out)))
        """
    )
    assert r.returncode == 0, r.stderr
    assert "consumed" not in r.stdout, r.stdout
