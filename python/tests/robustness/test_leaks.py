"""Reference leaks: every path, errors included, run thousands of times keeps the reference counts
of its inputs (and of None/True/False, small ints, keys) and the process RSS flat."""

from __future__ import annotations

import ctypes
import gc
import os
import sys
from typing import Any, Callable

import ormsgpack
import pytest
from langchain_core.messages import AIMessage, HumanMessage

import fast_serde
from fast_serde import DecodeError, EncodeError, Ext
from fast_serde.langgraph import FastSerializer
from robustness_helpers import FAST, _outcome, packb
from test_encoder import ModelDumpRaises, Opaque, _deep


PAGE = os.sysconf("SC_PAGE_SIZE")
BIG = b"\xab" * (64 << 10)
BIG_TEXT = "é" * (32 << 10)
KEY = sys.intern("messages")
LEAK_ITERATIONS = 2000


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class _MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost",
    )]


try:
    _LIBC = ctypes.CDLL(None)
    _LIBC.mallinfo2.restype = _MallInfo2
    _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
except (OSError, AttributeError):  # not glibc 2.33+: RSS alone
    _LIBC = None


def _heap_in_use() -> int | None:
    """Bytes malloc has handed out and not had back (every arena, plus mmapped chunks): what the
    process holds, whether or not those pages were resident before. RSS alone misses a leak that
    reuses memory earlier tests freed (resident already), so it depends on what ran before."""
    if _LIBC is None:
        return None
    info = _LIBC.mallinfo2()
    return info.uordblks + info.hblkhd


def _settle() -> None:
    """Collect, and give the free heap back to the OS (glibc), so RSS growth after it is new."""
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _leak_paths() -> dict[str, tuple[Callable[[], Any], list[Any]]]:
    opaque = Opaque()
    value = {KEY: [BIG, BIG_TEXT, None, True, False, 1, 255, -1, 2**40, 1.5, (1, "t")], "ext": Ext(3, BIG)}
    cyc: list[Any] = [KEY]
    cyc.append(cyc)
    big_int = {KEY: [BIG, 2**70]}
    deep = _deep("list", 400)
    def default_raises(o: Any) -> Any:
        raise RuntimeError("no")  # a fresh instance: re-raising one would chain tracebacks

    def default_ok(o: Any) -> Any:
        return [BIG_TEXT, None]

    blob = fast_serde.dumps(value)
    ext_blob = fast_serde.dumps([Ext(5, BIG), Ext(6, b"x")])
    hook_result = ("hooked", BIG)

    def hook(code: int, data: bytes) -> Any:
        return hook_result

    def hook_raises(code: int, data: bytes) -> Any:
        raise RuntimeError("no")

    state = {"messages": [HumanMessage(content=BIG_TEXT, id="h"), AIMessage(content="a", id="a")], "bin": BIG, "n": None}
    lg_blob = FAST.dumps_typed(state)[1]
    lg_strict = FastSerializer(allowed_msgpack_modules=None)
    blocked = packb(ormsgpack.Ext(0, packb(("fast_serde_no_such_module", "X", [BIG, None]))))
    ctor_fails = packb(ormsgpack.Ext(0, packb(("uuid", "UUID", BIG_TEXT))))
    method_blocked = packb(ormsgpack.Ext(3, packb(("datetime", "datetime", BIG_TEXT, "isoformat"))))

    def swallow(fn: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> None:
            try:
                fn()
            except (EncodeError, DecodeError):
                pass

        return run

    singletons = [None, True, False, 1, 255, -1, KEY]
    return {
        "dumps": (lambda: fast_serde.dumps(value), [value, BIG, BIG_TEXT, *singletons]),
        "dumps-default": (lambda: fast_serde.dumps([opaque, BIG], default=default_ok), [opaque, default_ok, BIG_TEXT, *singletons]),
        "dumps-unsupported": (swallow(lambda: fast_serde.dumps({KEY: [BIG, opaque]})), [opaque, BIG, *singletons]),
        "dumps-default-raises": (swallow(lambda: fast_serde.dumps({KEY: [BIG, opaque]}, default=default_raises)), [opaque, default_raises, BIG, *singletons]),
        "dumps-cycle": (swallow(lambda: fast_serde.dumps({KEY: [BIG, cyc]})), [cyc, BIG, *singletons]),
        "dumps-int-overflow": (swallow(lambda: fast_serde.dumps(big_int)), [big_int, BIG, *singletons]),
        "dumps-depth": (swallow(lambda: fast_serde.dumps(deep)), [deep, *singletons]),
        "loads": (lambda: fast_serde.loads(blob), [blob, *singletons]),
        "loads-ext-hook": (lambda: fast_serde.loads(ext_blob, ext_hook=hook), [ext_blob, hook, hook_result, *singletons]),
        "loads-ext-hook-raises": (lambda: _outcome(lambda: fast_serde.loads(ext_blob, ext_hook=hook_raises)), [ext_blob, hook_raises, *singletons]),
        "loads-truncated": (swallow(lambda: fast_serde.loads(blob[:-1])), singletons),
        "loads-trailing": (swallow(lambda: fast_serde.loads(blob + b"\x00")), singletons),
        "loads-invalid-utf8": (swallow(lambda: fast_serde.loads(blob[:-3] + b"\xa1\xff")), singletons),
        "loads-reserved": (swallow(lambda: fast_serde.loads(b"\x93" + blob + blob + b"\xc1")), singletons),
        "loads-unhashable": (swallow(lambda: fast_serde.loads(b"\x82\xa1k" + blob + b"\x80\x01")), singletons),
        "loads-depth": (swallow(lambda: fast_serde.loads(b"\x92" + blob + b"\x91" * 300)), singletons),
        "loads-huge-length": (swallow(lambda: fast_serde.loads(b"\x92" + blob + b"\xdd\xff\xff\xff\xff")), singletons),
        "lg-dumps": (lambda: FAST.dumps_typed(state), [state, BIG, BIG_TEXT, *singletons]),
        "lg-dumps-fails": (swallow(lambda: FAST.dumps_typed({KEY: [BIG, ModelDumpRaises()]})), [BIG, *singletons]),
        "lg-loads": (lambda: FAST.loads_typed(("msgpack", lg_blob)), [lg_blob, *singletons]),
        "lg-loads-truncated": (swallow(lambda: FAST.loads_typed(("msgpack", lg_blob[:-2]))), [lg_blob, *singletons]),
        "lg-loads-trailing": (swallow(lambda: FAST.loads_typed(("msgpack", lg_blob + b"\xc0"))), [lg_blob, *singletons]),
        "lg-loads-blocked": (lambda: lg_strict.loads_typed(("msgpack", blocked)), [blocked, *singletons]),
        "lg-loads-constructor-fails": (lambda: FAST.loads_typed(("msgpack", ctor_fails)), [ctor_fails, *singletons]),
        "lg-loads-method-blocked": (lambda: FAST.loads_typed(("msgpack", method_blocked)), [method_blocked, *singletons]),
    }


def assert_flat(fn: Callable[[], Any], watched: list[Any], iterations: int = LEAK_ITERATIONS) -> None:
    """`fn` run `iterations` times (after a warm-up) moves no reference count of `watched`, and
    neither the memory malloc has handed out nor the process RSS grows by 24 MiB (a leaked 64 KiB
    object per call would be 128 MiB). The malloc figure does not depend on what earlier tests
    left freed (and resident); RSS, measured after the free heap is given back, also sees
    pymalloc's arenas (mmapped, not malloc's)."""
    for _ in range(200):
        fn()
    _settle()
    before = [sys.getrefcount(o) for o in watched]
    heap0, rss0 = _heap_in_use(), _rss()
    for _ in range(iterations):
        fn()
    gc.collect()
    after = [sys.getrefcount(o) for o in watched]
    heap1, rss1 = _heap_in_use(), _rss()
    changed = [(repr(o)[:40], b, a) for o, b, a in zip(watched, before, after) if a != b]
    assert not changed, f"reference counts moved over {iterations} calls: {changed}"
    if heap0 is not None and heap1 is not None:
        grew = heap1 - heap0
        assert grew < 24 << 20, f"memory grew: malloc'd {grew >> 20} MiB more over {iterations} calls"
    assert rss1 - rss0 < 24 << 20, f"memory grew: RSS by {(rss1 - rss0) >> 20} MiB over {iterations} calls"


@pytest.mark.parametrize("path", sorted(_leak_paths()))
def test_no_reference_leaks(path):
    fn, watched = _leak_paths()[path]
    assert_flat(fn, watched)


def test_leak_checker_catches_planted_leaks():
    kept: list[Any] = []
    marker = object()
    with pytest.raises(AssertionError, match="reference counts moved"):
        assert_flat(lambda: kept.append(marker), [marker], iterations=100)
    kept.clear()
    with pytest.raises(AssertionError, match="memory grew"):
        assert_flat(lambda: kept.append(bytearray(BIG)), [], iterations=1000)
    kept.clear()
    if _LIBC is not None:
        # Deterministic, whatever earlier tests left: malloc's own count sees the planted leak
        # even where freed, resident memory is reused (what fooled an RSS-only check on 3.13).
        heap0 = _heap_in_use()
        planted = [bytearray(BIG) for _ in range(1000)]
        assert _heap_in_use() - heap0 >= 60 << 20
        del planted
