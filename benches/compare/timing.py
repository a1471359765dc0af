"""The timed contenders and how they are timed: batches calibrated per contender, pair
alternation in a seeded shuffled order, and the all-contender shuffled run (cold caches).

:func:`build_contenders` checks, before any timing, that FastSerializer writes
JsonPlusSerializer's bytes, ``fast_serde.dumps`` ormsgpack's, and that every loader returns
equal objects; it raises :class:`Mismatch` if not.
"""

from __future__ import annotations

import copy
import gc
import math
import pickle
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import ormsgpack
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from tqdm import tqdm

import fast_serde
from fast_serde.langgraph import FastSerializer
from fixtures.states import checkpoint, plain_state

from .rows import PAIR_ROWS

ORMSGPACK_OPTION = ormsgpack.OPT_NON_STR_KEYS | ormsgpack.OPT_REPLACE_SURROGATES


class Mismatch(Exception):
    """fast-serde's bytes or loaded objects differ from the reference's."""


# What a sample measures: "wall" (time.perf_counter, the default) counts the time the process was
# descheduled too, which on a shared machine inflates a call longer than a scheduler time slice
# (the 2m state) far more than a short one; "cpu" (time.thread_time: this thread's CPU time, in
# seconds) leaves it out. Both sides of a pair always use the same clock.
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.thread_time}


@dataclass
class Contender:
    name: str
    fn: Callable[[], Any]
    number: int = 1  # calls per sample
    times: list[float] = field(default_factory=list)  # seconds per call, one per round
    clock: Callable[[], float] = time.perf_counter  # a value of CLOCKS

    def calibrate(self, min_sample: float) -> None:
        """Pick the batch size so that one sample lasts at least ``min_sample`` seconds."""
        best = math.inf
        clock = self.clock
        for _ in range(3):
            gc.disable()
            start = clock()
            result = self.fn()
            elapsed = clock() - start
            gc.enable()
            del result
            best = min(best, elapsed)
        self.number = max(1, min(10_000, math.ceil(min_sample / max(best, 1e-7))))

    def sample(self) -> None:
        fn, number, clock = self.fn, self.number, self.clock
        results: list[Any] = [None] * number
        gc.disable()
        try:
            start = clock()
            for i in range(number):
                results[i] = fn()
            elapsed = clock() - start
        finally:
            gc.enable()
        del results
        self.times.append(elapsed / number)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


@dataclass
class SizeResult:
    size: str
    rounds: int  # per pair
    shuffled_rounds: int  # of the all-contender shuffled run
    messages: int
    msgpack_bytes: int  # checkpoint, JsonPlusSerializer
    pickle_bytes: int
    plain_bytes: int
    msgspec_same_bytes: bool
    pairs: dict[str, tuple[float, float]]  # pair row label -> (A, B) medians, seconds per call
    medians: dict[str, float]  # contender -> seconds per call, in the all-contender shuffled run
    numbers: dict[str, int]  # contender -> calls per sample
    memory: dict[str, Any] | None = None


def build_contenders(size: str, clock: str = "wall") -> tuple[list[Contender], dict[str, Any]]:
    """The size's fixtures, checked for equal bytes and equal loads, and its timed callables,
    each timed by ``CLOCKS[clock]``."""
    fast, ref = FastSerializer(), JsonPlusSerializer()
    trusted = FastSerializer(validate_models=False)
    ckpt = checkpoint(size)
    plain = plain_state(size)

    blob = ref.dumps_typed(ckpt)
    fast_blob = fast.dumps_typed(ckpt)
    if fast_blob != blob:
        raise Mismatch(f"{size}: FastSerializer.dumps_typed bytes differ from JsonPlusSerializer's")
    ref_loaded = ref.loads_typed(blob)
    if fast.loads_typed(blob) != ref_loaded:
        raise Mismatch(f"{size}: FastSerializer.loads_typed differs from JsonPlusSerializer's")
    if trusted.loads_typed(blob) != ref_loaded:
        raise Mismatch(f"{size}: FastSerializer(validate_models=False).loads_typed differs")
    pickled = pickle.dumps(ckpt, protocol=5)
    if pickle.loads(pickled) != ckpt:  # the anchor itself must round-trip
        raise Mismatch(f"{size}: pickle round trip of the checkpoint is not equal")

    packed = ormsgpack.packb(plain, option=ORMSGPACK_OPTION)
    if fast_serde.dumps(plain) != packed:
        raise Mismatch(f"{size}: fast_serde.dumps bytes differ from ormsgpack.packb's")
    unpacked = ormsgpack.unpackb(packed, option=ormsgpack.OPT_NON_STR_KEYS)
    if fast_serde.loads(packed) != unpacked or unpacked != plain:
        raise Mismatch(f"{size}: fast_serde.loads differs from ormsgpack.unpackb")
    if msgspec.msgpack.decode(packed) != plain:
        raise Mismatch(f"{size}: msgspec.msgpack.decode does not read the plain state back")

    messages = ckpt["channel_values"]["messages"]
    # What JsonPlusSerializer's ext hook receives per message: (cls, model_dump() kwargs).
    kwargs = [(type(m), m.model_dump()) for m in messages]

    def rebuild() -> list[Any]:
        return [cls(**kw) for cls, kw in kwargs]

    enc, dec = msgspec.msgpack.encode, msgspec.msgpack.decode
    contenders = [
        Contender("fast.dumps_typed", lambda: fast.dumps_typed(ckpt)),
        Contender("jsonplus.dumps_typed", lambda: ref.dumps_typed(ckpt)),
        Contender("pickle.dumps", lambda: pickle.dumps(ckpt, protocol=5)),
        Contender("copy.deepcopy", lambda: copy.deepcopy(ckpt)),
        Contender("fast.loads_typed", lambda: fast.loads_typed(blob)),
        Contender("trusted.loads_typed", lambda: trusted.loads_typed(blob)),
        Contender("jsonplus.loads_typed", lambda: ref.loads_typed(blob)),
        Contender("pickle.loads", lambda: pickle.loads(pickled)),
        Contender("jsonplus.rebuild", rebuild),
        Contender("fast_serde.dumps", lambda: fast_serde.dumps(plain)),
        Contender("ormsgpack.packb", lambda: ormsgpack.packb(plain, option=ORMSGPACK_OPTION)),
        Contender("msgspec.encode", lambda: enc(plain)),
        Contender("fast_serde.loads", lambda: fast_serde.loads(packed)),
        Contender(
            "ormsgpack.unpackb",
            lambda: ormsgpack.unpackb(packed, option=ormsgpack.OPT_NON_STR_KEYS),
        ),
        Contender("msgspec.decode", lambda: dec(packed)),
    ]
    for c in contenders:
        c.clock = CLOCKS[clock]
    info = {
        "messages": len(messages),
        "msgpack_bytes": len(blob[1]),
        "pickle_bytes": len(pickled),
        "plain_bytes": len(packed),
        "msgspec_same_bytes": enc(plain) == packed,
    }
    return contenders, info


def rounds_for(size: str, rounds: int) -> int:
    """The 2m size gets fewer rounds (one of its rounds costs ~1 s)."""
    return max(3, rounds // 8) if size == "2m" else rounds


def shuffled_rounds_for(rounds: int) -> int:
    """The all-contender shuffled run (secondary view) gets half the pairs' rounds, at least 3."""
    return max(3, rounds // 2)


def time_pair(
    label: str, size: str, a: Contender, b: Contender, rounds: int, bar: tqdm
) -> tuple[float, float]:
    """Medians of A and B sampled alternately, in an order shuffled (seeded) every round."""
    pair = [
        Contender(a.name, a.fn, a.number, clock=a.clock),
        Contender(b.name, b.fn, b.number, clock=a.clock),
    ]
    ca, cb = pair
    rng = random.Random(f"pairs:{size}:{label}")
    for _ in range(rounds):
        rng.shuffle(pair)
        for c in pair:
            c.sample()
            bar.update(1)
    return ca.median, cb.median


def time_size(
    size: str, rounds: int, min_sample: float, bar: tqdm, contenders: list[Contender], info: dict
) -> SizeResult:
    for c in contenders:  # warm-up and batch size
        c.calibrate(0.0 if size in ("200k", "2m") else min_sample)
    by_name = {c.name: c for c in contenders}
    # Primary: each row's pair alone, A and B alternating, so both find the same (warm) caches.
    pairs = {
        label: time_pair(label, size, by_name[a], by_name[b], rounds, bar)
        for label, a, b in PAIR_ROWS
    }
    # Secondary ("cold caches"): each round runs every contender once, in a freshly shuffled
    # (seeded) order, so a call tends to find its data set evicted by the previous contender.
    shuffled_rounds = shuffled_rounds_for(rounds)
    rng = random.Random(f"compare:{size}")
    order = list(contenders)
    for _ in range(shuffled_rounds):
        rng.shuffle(order)
        for c in order:
            c.sample()
            bar.update(1)
    return SizeResult(
        size=size,
        rounds=rounds,
        shuffled_rounds=shuffled_rounds,
        pairs=pairs,
        medians={c.name: c.median for c in contenders},
        numbers={c.name: c.number for c in contenders},
        **info,
    )
