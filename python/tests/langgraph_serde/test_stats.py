"""``fast_serde.langgraph.stats()`` / ``reset_stats()``: what FastSerializer counts."""

from __future__ import annotations

import threading

import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from fast_serde.langgraph import FastSerializer, reset_stats, stats


@pytest.fixture(autouse=True)
def _zeroed():
    reset_stats()
    yield
    reset_stats()


def _counts() -> dict:
    s = stats()
    return {k: s[k] for k in ("dumps", "dumps_fallback", "loads", "loads_fallback")}


def test_native_calls_and_fallbacks_are_counted_apart():
    fast, picky = FastSerializer(pickle_fallback=True), FastSerializer()
    blobs = [fast.dumps_typed(v) for v in ({"a": [1, 2]}, None, b"x", bytearray(b"y"), "s")]
    assert _counts() == {"dumps": 5, "dumps_fallback": 0, "loads": 0, "loads_fallback": 0}
    assert fast.dumps_typed(threading.Lock)[0] == "pickle"  # a class pickles by reference
    with pytest.raises(TypeError):
        picky.dumps_typed(object())
    assert _counts()["dumps_fallback"] == 2
    for blob in blobs:
        fast.loads_typed(blob)
    # "msgpack" twice (the dict, the str) and "null"/"bytes"/"bytearray": all answered by
    # FastSerializer itself, none handed to the parent's code (these three were counted as
    # fallbacks before the native loads_typed).
    assert _counts() == {"dumps": 5, "dumps_fallback": 2, "loads": 5, "loads_fallback": 0}


def test_a_custom_ext_hook_counts_as_fallback_and_bad_input_raises_as_before():
    hooked = FastSerializer(__unpack_ext_hook__=lambda code, data: data)
    hooked.loads_typed(hooked.dumps_typed({"a": 1}))
    assert _counts()["loads_fallback"] == 1 and _counts()["loads"] == 0
    for bad in (5, ("msgpack",), None):
        with pytest.raises(Exception) as ours:
            FastSerializer().loads_typed(bad)  # type: ignore[arg-type]
        with pytest.raises(Exception) as theirs:
            JsonPlusSerializer().loads_typed(bad)  # type: ignore[arg-type]
        assert type(ours.value) is type(theirs.value) and str(ours.value) == str(theirs.value)


def test_results_pass_through_unchanged():
    value = {"messages": ["hi"], "n": 3}
    assert FastSerializer().dumps_typed(value) == JsonPlusSerializer().dumps_typed(value)
    assert FastSerializer().loads_typed(JsonPlusSerializer().dumps_typed(value)) == value


def test_concurrent_calls_lose_no_count():
    fast = FastSerializer()
    blob = fast.dumps_typed({"k": 1})
    reset_stats()

    def work():
        for _ in range(5000):
            fast.loads_typed(fast.dumps_typed({"k": 1}))
            stats()  # readers running alongside do not disturb the counts

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert _counts() == {"dumps": 20000, "dumps_fallback": 0, "loads": 20000, "loads_fallback": 0}
    assert blob == fast.dumps_typed({"k": 1})


def test_timing_is_opt_in_and_reset_zeroes_everything():
    fast = FastSerializer()
    fast.dumps_typed({"a": 1})
    assert stats()["timing"] is False and stats()["dumps_seconds"] == 0.0
    reset_stats(timing=True)
    assert _counts() == {"dumps": 0, "dumps_fallback": 0, "loads": 0, "loads_fallback": 0}
    fast.loads_typed(fast.dumps_typed({"a": list(range(1000))}))
    s = stats()
    assert s["timing"] is True and s["dumps_seconds"] > 0 and s["loads_seconds"] > 0
    reset_stats()
    s = stats()
    assert s["timing"] is False and s["dumps_seconds"] == s["loads_seconds"] == 0.0
    assert stats() is not stats()  # a new dict each call


@pytest.mark.parametrize("dumps, loads", [(False, False), (False, True), (True, False)])
def test_calls_the_probe_sent_to_the_parent_count_as_fallbacks(dumps: bool, loads: bool) -> None:
    """On an unverified release whose probe found a difference, FastSerializer hands that side to
    JsonPlusSerializer (``_native``): stats() must say so, not count those calls as native."""
    from fast_serde.langgraph._probe import Verdict

    fast = FastSerializer()
    fast._native = Verdict(dumps, loads)
    value = {"a": [1, "x"]}
    blob = fast.dumps_typed(value)
    assert blob == JsonPlusSerializer().dumps_typed(value)
    assert fast.loads_typed(blob) == value
    assert _counts() == {
        "dumps": int(dumps),
        "dumps_fallback": int(not dumps),
        "loads": int(loads),
        "loads_fallback": int(not loads),
    }
