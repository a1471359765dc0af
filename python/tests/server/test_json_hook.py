"""LangGraph Server's JSON reads: ``FastSerializer(__unpack_ext_hook__=_msgpack_ext_hook_to_json)``
(and the in-memory runtime's ``_delta_aware_hook`` around it) read natively to exactly what the
parent reads with that hook: plain data for every ext code, None where the hook returns None.

The reference is always ``JsonPlusSerializer`` given the same hook, compared type-exact
(``lg_strategies.assert_same``). Any other hook keeps the parent's path.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import ormsgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer, _msgpack_ext_hook_to_json

from fast_serde.langgraph import FastSerializer, _compat
from fixtures.states import SIZES, agent_state, checkpoint
from lg_strategies import assert_same, rich_values

HOOK = _msgpack_ext_hook_to_json
REPO = Path(__file__).resolve().parents[3]
GOLDEN = REPO / "fixtures" / "golden"
MANIFEST = json.loads((GOLDEN / "MANIFEST.json").read_text())
PARENT = JsonPlusSerializer(__unpack_ext_hook__=HOOK)
FAST = FastSerializer(__unpack_ext_hook__=HOOK)


def _outcome(fn: Any, data: tuple[str, bytes]) -> tuple[str, Any]:
    try:
        return ("ok", fn(data))
    except Exception as exc:
        return ("raise", exc)


def _same_read(data: bytes) -> None:
    want = _outcome(PARENT.loads_typed, ("msgpack", data))
    got = _outcome(FAST.loads_typed, ("msgpack", data))
    assert got[0] == want[0], f"fast {got!r} vs parent {want!r} for {data!r}"
    if want[0] == "ok":
        assert_same(got[1], want[1])


def test_the_hook_is_read_natively(monkeypatch):
    assert _compat.json_reader(HOOK) == (HOOK, None)
    calls = []
    monkeypatch.setattr(_compat, "json_reader", lambda h: calls.append(h) or None)
    _same_read(PARENT.dumps_typed(agent_state("5k"))[1])  # with json_reader None: the parent
    assert calls and all(h is HOOK for h in calls)  # loads_typed (and stats) asked


@pytest.mark.parametrize("hook", [lambda c, d: HOOK(c, d), lambda c, d: None], ids=["wrapper", "other"])
def test_any_other_hook_keeps_the_parents_path(hook):
    assert _compat.json_reader(hook) is None
    data = JsonPlusSerializer().dumps_typed(agent_state("5k"))
    assert_same(FastSerializer(__unpack_ext_hook__=hook).loads_typed(data),
                JsonPlusSerializer(__unpack_ext_hook__=hook).loads_typed(data))


@pytest.mark.parametrize("name", sorted(n for n, e in MANIFEST["blobs"].items() if e["type"] == "msgpack"))
def test_golden_blobs(name):
    _same_read((GOLDEN / f"{name}.msgpack").read_bytes())


@pytest.mark.parametrize("size", [s for s in SIZES if s != "2m"])
def test_agent_states_and_checkpoints(size):
    for value in (agent_state(size), checkpoint(size)):
        _same_read(PARENT.dumps_typed(value)[1])


@given(rich_values)
def test_generated_values(value):
    tag, data = PARENT.dumps_typed(value)
    if tag == "msgpack":
        _same_read(data)


# Crafted ext payloads: the shapes the hook tests (a UUID's hex text of any length or type, Send,
# heads that are no str, short tuples), codes it has no branch for, truncated and nested payloads.
_heads = st.sampled_from(["uuid", "UUID", "langgraph.types", "Send", "x", "", 1, None, b"uuid"])
_args = st.one_of(
    st.text(max_size=40), st.text(alphabet="0123456789abcdef", max_size=40),
    st.builds(lambda u: u.hex, st.uuids()), st.integers(-(2**63), 2**64 - 1), st.none(), st.binary(max_size=8),
    st.lists(st.integers(0, 9), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(0, 9), max_size=2),
)
_codes = st.integers(min_value=0, max_value=12)  # ormsgpack.Ext takes 0-127


@st.composite
def _crafted(draw: st.DrawFn, depth: int = 0) -> Any:
    inner = _crafted(depth + 1) if depth < 2 else _args
    shape = draw(st.sampled_from(["tuple", "tuple", "short", "plain", "truncated", "garbage"]))
    if shape == "tuple":
        items = [draw(_heads), draw(_heads), draw(st.one_of(_args, inner))]
        items += draw(st.lists(st.one_of(_args, st.just("fromisoformat")), max_size=2))
        payload = ormsgpack.packb(items)
    elif shape == "short":
        payload = ormsgpack.packb(draw(st.lists(st.one_of(_heads, inner), max_size=2)))
    elif shape == "plain":
        payload = ormsgpack.packb(draw(st.one_of(_args, inner)))
    elif shape == "truncated":
        whole = ormsgpack.packb([draw(_heads), draw(_heads), draw(_args)])
        payload = whole[: draw(st.integers(0, max(len(whole) - 1, 0)))]
    else:
        payload = draw(st.binary(max_size=12))
    if draw(st.booleans()):
        payload += draw(st.binary(min_size=1, max_size=3))  # bytes after the value
    return ormsgpack.Ext(draw(_codes), payload)


@given(st.lists(_crafted(), min_size=1, max_size=4))
def test_crafted_ext_payloads(exts):
    _same_read(ormsgpack.packb({"v": exts, "first": exts[0]}))


def test_uuid_and_send_as_the_hook_gives_them():
    from langgraph.types import Send

    for value in ({"u": uuid.UUID(int=5), "s": Send("node", {"a": 1})},
                  [Send("n", 1), uuid.uuid4()]):
        _same_read(PARENT.dumps_typed(value)[1])


def test_stats_count_json_reads_as_native():
    import fast_serde.langgraph as lg

    lg.reset_stats()
    data = PARENT.dumps_typed({"a": 1})
    FAST.loads_typed(data)
    FastSerializer(__unpack_ext_hook__=lambda c, d: None).loads_typed(data)
    counts = lg.stats()
    assert (counts["loads"], counts["loads_fallback"]) == (1, 1), counts


def test_the_in_memory_runtimes_delta_aware_hook():
    """The hook LangGraph Server's state and history endpoints read with (built by the runtime,
    in a fresh interpreter with `langgraph dev`'s environment): recognised, and read natively to
    what the stock server class reads with it, ext 7 (``_DeltaSnapshot``) included, and the
    unreadable ext 7 raising the same exception at the top level."""
    from test_server_serde import _child

    out = _child(
        """
        import json, sys, glob
        sys.path.insert(0, {repo!r})
        sys.path.insert(0, {support!r})
        import ormsgpack
        from langgraph_runtime_inmem.checkpoint import Checkpointer
        from langgraph.checkpoint.serde.jsonplus import _msgpack_ext_hook_to_json, JsonPlusSerializer
        from langgraph.checkpoint.serde.types import _DeltaSnapshot
        from fast_serde.langgraph import _compat
        from fixtures.states import agent_state
        from lg_strategies import assert_same

        ours = Checkpointer(unpack_hook=_msgpack_ext_hook_to_json).serde
        hook = ours._unpack_ext_hook
        stock = type(ours).__mro__[1](__unpack_ext_hook__=hook)
        writer = JsonPlusSerializer()
        Ext, pack = ormsgpack.Ext, ormsgpack.packb
        state = writer.dumps_typed(agent_state("5k"))[1]
        blobs = [state, writer.dumps_typed(_DeltaSnapshot(agent_state("5k")))[1],
                 writer.dumps_typed([_DeltaSnapshot({{"a": [_DeltaSnapshot(1)]}})])[1],
                 pack({{"d": Ext(7, state)}}), pack(Ext(7, b"")), pack(Ext(7, b"\\xc1")),
                 pack([Ext(2, pack(["m", "n", Ext(7, b"\\x92")]))]), pack(Ext(7, state + b"\\x00")),
                 pack([Ext(8, b""), Ext(6, b"")])]
        blobs += [open(p, "rb").read() for p in sorted(glob.glob({golden!r} + "/*.msgpack"))]

        def outcome(s, b):
            try:
                return ("ok", s.loads_typed(("msgpack", b)))
            except Exception as exc:
                return ("raised", type(exc).__name__)

        mismatch = []
        for i, b in enumerate(blobs):
            a, e = outcome(ours, b), outcome(stock, b)
            try:
                assert a[0] == e[0], (a, e)
                if a[0] == "ok":
                    assert_same(a[1], e[1])
                else:
                    assert a == e
            except AssertionError as exc:
                mismatch.append([i, str(exc)[:300]])
        print(json.dumps({{"served": _compat.json_reader(hook) == (hook, _DeltaSnapshot),
                          "mismatch": mismatch, "n": len(blobs)}}))
        """.format(repo=str(REPO), support=str(REPO / "python" / "tests" / "support"),
                   golden=str(GOLDEN)),
        install_env=True,
    )
    assert out["served"] is True
    assert out["mismatch"] == [], out["mismatch"]
    assert out["n"] > 40


@pytest.mark.parametrize("data", [
    b"\xd6\xff\x00\x00\x00\x01", b"\xd7\xff" + bytes(8), b"\xc7\x0c\xff" + bytes(12),  # timestamps
    b"\xd4\x80\x00", b"\x91\xd4\xfe\x00", b"\x81\xa1k\xd4\x85\x00",  # other negative codes
])
def test_negative_ext_codes(data):
    _same_read(data)  # ormsgpack.Ext cannot write them: the bytes by hand


_LOOKALIKE = '''
def build(EXT_DELTA_SNAPSHOT, _DeltaSnapshot, _inner_hook):
    def _delta_aware_hook(code, data):
        # The runtime's wrapper in every name, cell and attribute, but not in its code.
        _delta_aware_hook, EXT_DELTA_SNAPSHOT, _DeltaSnapshot
        value = _inner_hook(code, data)
        return "redacted" if code == 0 else value
    return _delta_aware_hook
'''


def test_a_hook_that_only_looks_like_the_runtimes_wrapper_keeps_the_parents_path():
    # Same __module__, a __qualname__ ending in ._delta_aware_hook, the same free variables
    # holding the same objects: only its code differs (a patched copy of the runtime, a forgery).
    # It used to be read natively, so that its code never ran.
    if _compat.DELTA_SNAPSHOT is None or _compat._inmem_version() not in _compat.INMEM_VERIFIED:
        pytest.skip("needs ext 7 and a verified langgraph-runtime-inmem")
    namespace: dict[str, Any] = {"__name__": "langgraph_runtime_inmem.checkpoint"}
    exec(_LOOKALIKE, namespace)
    hook = namespace["build"](7, _compat.DELTA_SNAPSHOT, HOOK)
    assert hook.__module__ == "langgraph_runtime_inmem.checkpoint"
    assert hook.__qualname__.endswith("._delta_aware_hook")
    assert _compat.json_reader(hook) is None
    data = JsonPlusSerializer().dumps_typed({"id": uuid.UUID(int=5), "state": agent_state("5k")})
    got = FastSerializer(__unpack_ext_hook__=hook).loads_typed(data)
    assert got["id"] == "redacted"
    assert_same(got, JsonPlusSerializer(__unpack_ext_hook__=hook).loads_typed(data))


def test_an_object_equal_to_the_runtimes_wrapper_keeps_the_parents_path():
    # The recognised hooks are cached in a WeakKeyDictionary, which finds a key by equality: an
    # object whose __eq__ says True and whose hash is the real wrapper's used to be served the
    # real wrapper's native reader (and the real wrapper called in its place).
    from test_server_serde import _child

    out = _child(
        """
        import json, sys, uuid
        sys.path.insert(0, {repo!r})
        sys.path.insert(0, {support!r})
        from langgraph_runtime_inmem.checkpoint import Checkpointer
        from langgraph.checkpoint.serde.jsonplus import _msgpack_ext_hook_to_json, JsonPlusSerializer
        from fast_serde.langgraph import FastSerializer, _compat
        from fixtures.states import agent_state
        from lg_strategies import assert_same

        real = Checkpointer(unpack_hook=_msgpack_ext_hook_to_json).serde._unpack_ext_hook
        served = _compat.json_reader(real) is not None

        class EqualToIt:
            def __eq__(self, other):
                return True

            def __hash__(self):
                return hash(real)

            def __call__(self, code, data):
                return "redacted" if code == 0 else _msgpack_ext_hook_to_json(code, data)

        hook = EqualToIt()
        data = JsonPlusSerializer().dumps_typed({{"id": uuid.UUID(int=5), "s": agent_state("5k")}})
        got = FastSerializer(__unpack_ext_hook__=hook).loads_typed(data)
        assert_same(got, JsonPlusSerializer(__unpack_ext_hook__=hook).loads_typed(data))
        print(json.dumps({{"served": served, "reader": _compat.json_reader(hook) is None,
                          "id": got["id"], "real_still": _compat.json_reader(real) is not None}}))
        """.format(repo=str(REPO), support=str(REPO / "python" / "tests" / "support")),
        install_env=True,
    )
    out.pop("stderr", None)
    assert out == {"served": True, "reader": True, "id": "redacted", "real_still": True}
