"""Threads: many threads at once produce exactly the single-thread bytes and objects."""

from __future__ import annotations

import random
import sys
import threading
import time
import uuid
from typing import Any, Callable

import ormsgpack

import fast_serde
from fast_serde import Ext
from fast_serde.langgraph import FastSerializer
from robustness_helpers import _UUID_HEX, BLOBS, FAST, PARENT, _outcome, packb, same
from test_encoder import Opaque


def _thread_workload() -> list[tuple[str, Callable[[], Any], Any]]:
    from fixtures.states import agent_state

    def gil_switching_default(o: Any) -> Any:
        time.sleep(0)  # let another thread run in the middle of the walk
        return ["opaque", o.__class__.__name__]

    def gil_switching_hook(code: int, data: bytes) -> Any:
        time.sleep(0)
        return (code, data)

    values = [
        {"k": [1, 2, {"n": None}], "é": "ü" * 50, 3: (b"x" * 300, 2**63, -(2**63))},
        [Ext(5, b"payload"), Ext(-3, b""), 1.5, float("inf")],
        {f"key{i}": i for i in range(200)},
        ["x" * 70000, list(range(1000))],
    ]
    ops: list[tuple[str, Callable[[], Any], Any]] = []
    for i, v in enumerate(values):
        ops.append((f"dumps-{i}", lambda v=v: fast_serde.dumps(v), fast_serde.dumps(v)))
        b = fast_serde.dumps(v)
        ops.append((f"loads-{i}", lambda b=b: fast_serde.loads(b), fast_serde.loads(b)))
    opaque_value = {"a": [Opaque(), {"b": Opaque()}], "c": "d"}
    ops.append(("dumps-default", lambda: fast_serde.dumps(opaque_value, default=gil_switching_default), fast_serde.dumps(opaque_value, default=gil_switching_default)))
    ext_blob = fast_serde.dumps([Ext(1, b"a"), {"k": Ext(2, b"b" * 100)}])
    ops.append(("loads-ext-hook", lambda: fast_serde.loads(ext_blob, ext_hook=gil_switching_hook), fast_serde.loads(ext_blob, ext_hook=gil_switching_hook)))
    for name in ("lg_run_15", "lg_run_13", "msg_ai_tool_call", "ext_nested_state", "ext_sets"):
        if name in BLOBS:
            blob = BLOBS[name]
            ops.append((f"lg-loads-{name}", lambda blob=blob: FAST.loads_typed(("msgpack", blob)), FAST.loads_typed(("msgpack", blob))))
    for seed in range(3):
        state = agent_state("5k", seed=seed)
        want = PARENT.dumps_typed(state)
        assert FAST.dumps_typed(state) == want
        ops.append((f"lg-dumps-{seed}", lambda state=state: FAST.dumps_typed(state), want))
        ops.append((f"lg-loads-{seed}", lambda want=want: FAST.loads_typed(want), FAST.loads_typed(want)))
    cyc: list[Any] = []
    cyc.append(cyc)
    ops.append(("dumps-cycle", lambda: _outcome(lambda: fast_serde.dumps({"c": cyc}))[1].args, ("circular reference at $['c'][0]",)))
    trunc = fast_serde.dumps(values[0])[:-1]
    ops.append(("loads-truncated", lambda: _outcome(lambda: fast_serde.loads(trunc))[1].offset, _outcome(lambda: fast_serde.loads(trunc))[1].offset))
    return ops


def run_interleaved(worker: Callable[[int], Any], n: int) -> None:
    """``worker(0) .. worker(n - 1)`` in ``n`` threads, joined, with the GIL handed over every
    10 µs (``sys.setswitchinterval``, restored after) so that their calls interleave."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=worker, args=(t,)) for t in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)


def test_threads_produce_single_thread_results():
    ops = _thread_workload()
    n_threads, rounds = 12, 15
    barrier = threading.Barrier(n_threads)
    failures: list[str] = []
    done = [0] * n_threads

    def worker(tid: int) -> None:
        rng = random.Random(tid)
        order = list(range(len(ops)))
        barrier.wait()
        for _ in range(rounds):
            rng.shuffle(order)
            for i in order:
                name, fn, want = ops[i]
                try:
                    got = fn()
                except BaseException as exc:  # noqa: BLE001
                    failures.append(f"thread {tid}: {name} raised {exc!r}")
                    continue
                if not same(got, want):
                    failures.append(f"thread {tid}: {name} gave {got!r:.80}")
                done[tid] += 1

    run_interleaved(worker, n_threads)
    assert not failures, failures[:10]
    assert done == [rounds * len(ops)] * n_threads


def test_threads_with_their_own_serializers_and_allowlists():
    """Per-codec class caches under concurrency: one serializer's allowlist never leaks into
    another's. fractions.Fraction is not in SAFE_MSGPACK_TYPES: allowed (and cached) by the
    allowlisting serializer, allowed per object by the permissive one, blocked by the strict one."""
    from fractions import Fraction

    blob = packb(ormsgpack.Ext(0, packb(("fractions", "Fraction", "1/3"))))
    safe = packb(ormsgpack.Ext(0, packb(("uuid", "UUID", _UUID_HEX))))
    sers = {
        "strict": FastSerializer(allowed_msgpack_modules=None),
        "allowlist": FastSerializer(allowed_msgpack_modules=[("fractions", "Fraction")]),
        "permissive": FastSerializer(),
    }
    want = {"strict": "1/3", "allowlist": Fraction(1, 3), "permissive": Fraction(1, 3)}
    failures: list[str] = []
    barrier = threading.Barrier(9)

    def worker(tid: int) -> None:
        mode = sorted(sers)[tid % 3]
        ser = sers[mode]
        barrier.wait()
        for _ in range(300):
            got = ser.loads_typed(("msgpack", blob))
            if type(got) is not type(want[mode]) or got != want[mode]:
                failures.append(f"{mode}: {got!r}")
            if ser.loads_typed(("msgpack", safe)) != uuid.UUID(_UUID_HEX):
                failures.append(f"{mode}: uuid")

    run_interleaved(worker, 9)
    assert not failures, failures[:5]
