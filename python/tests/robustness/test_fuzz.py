"""Hypothesis-driven fuzzing of the Python API, with the oracles of ``fuzz/python/oracles.py``
(the same ones the atheris target of ``scripts/fuzz.sh`` runs):

* ``fast_serde.loads`` and ``FastSerializer(allowed_msgpack_modules=None).loads_typed`` on
  mutants of the real checkpoint blobs in ``fixtures/fuzz_corpus`` and on random bytes: a value
  or ``DecodeError`` with a valid offset; the same value as msgpack-python / the stock
  ``JsonPlusSerializer`` wherever those read the input;
* round trips: ``dumps`` / ``dumps_typed`` of what was read, of values built from fuzzer bytes and
  of rich LangGraph values are byte-identical to ormsgpack / ``JsonPlusSerializer``, and read back.

Bounded (a few hundred examples per property) so the suite stays fast, and derandomized (the
same examples every run: the suite must not be flaky); ``scripts/fuzz.sh`` runs the same oracles
for as long as asked, on new inputs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fast_serde
from fast_serde import _native

import oracles  # fuzz/python, on sys.path through conftest.py
from lg_strategies import rich_values

REPO_ROOT = Path(__file__).resolve().parents[3]

CORPUS = sorted((REPO_ROOT / "fixtures" / "fuzz_corpus").glob("*.msgpack"))
SEEDS = {p.stem: p.read_bytes() for p in CORPUS}

FUZZ = settings(
    max_examples=1000,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
FEWER = settings(FUZZ, max_examples=300)

INTERESTING = [0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC4, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCF, 0xD3, 0xD4, 0xD8, 0xD9, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF, 0xE0, 0xFF]
LONG_MARKERS = [0xC5, 0xC6, 0xC8, 0xC9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF]

positions = st.integers(min_value=0, max_value=1 << 16)
mutations = st.one_of(
    st.tuples(st.just("flip"), positions, st.integers(0, 7)),
    st.tuples(st.just("set"), positions, st.sampled_from(INTERESTING)),
    st.tuples(st.just("truncate"), positions),
    st.tuples(st.just("insert"), positions, st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), positions, st.integers(1, 16)),
    st.tuples(st.just("length"), positions, st.sampled_from(LONG_MARKERS), st.sampled_from([0xFFFFFFFF, 0x80000000, 0xFFFF, 0, 1, 17])),
    st.tuples(st.just("duplicate"), positions, st.integers(1, 32), positions),
    st.tuples(st.just("ext-code"), positions, st.integers(-128, 127)),
)


def mutate(data: bytes, muts: list[tuple]) -> bytes:
    b = bytearray(data)
    for m in muts:
        op, at = m[0], m[1] % (len(b) + 1)
        if op == "flip" and b:
            b[at % len(b)] ^= 1 << m[2]
        elif op == "set" and b:
            b[at % len(b)] = m[2]
        elif op == "truncate":
            del b[at:]
        elif op == "insert":
            b[at:at] = m[2]
        elif op == "delete":
            del b[at : at + m[2]]
        elif op == "length":
            marker, n = m[2], m[3]
            width = 2 if marker in (0xC5, 0xC8, 0xDA, 0xDC, 0xDE) else 4
            hdr = bytes([marker]) + (n & ((1 << (8 * width)) - 1)).to_bytes(width, "big")
            if marker in (0xC8, 0xC9):
                hdr += bytes([n % 9])
            b[at:at] = hdr
        elif op == "duplicate" and b:
            chunk = b[at : at + m[2]]
            to = m[3] % (len(b) + 1)
            b[to:to] = chunk
        elif op == "ext-code" and b:
            # Re-code the ext at or after `at` (if any): its type byte follows the header.
            for i in range(at, len(b)):
                hdr = {0xD4: 1, 0xD5: 1, 0xD6: 1, 0xD7: 1, 0xD8: 1, 0xC7: 2, 0xC8: 3, 0xC9: 5}.get(b[i])
                if hdr is not None and i + hdr < len(b):
                    b[i + hdr] = m[2] & 0xFF
                    break
    return bytes(b)


def test_corpus_is_present():
    assert len(SEEDS) >= 30


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seeds_satisfy_every_oracle(name):
    oracles.check_all(SEEDS[name])


ZSTD_SEEDS = {p.stem: p.read_bytes() for p in sorted((REPO_ROOT / "fixtures" / "fuzz_corpus").glob("zstd_*.zst"))}


def test_zstd_seeds_are_frames_of_msgpack_seeds():
    assert len(ZSTD_SEEDS) >= 3
    for name, frame in ZSTD_SEEDS.items():
        assert _native.zstd_decompress(frame) == SEEDS[name.removeprefix("zstd_")]


@pytest.mark.parametrize("name", sorted(ZSTD_SEEDS))
def test_zstd_seeds_satisfy_every_oracle(name):
    oracles.check_all(ZSTD_SEEDS[name])


@FUZZ
@given(name=st.sampled_from(sorted(ZSTD_SEEDS)), muts=st.lists(mutations, min_size=1, max_size=6))
def test_mutated_zstd_frames(name, muts):
    oracles.check_loads_zstd(mutate(ZSTD_SEEDS[name], muts))


@FUZZ
@given(name=st.sampled_from(sorted(SEEDS)), muts=st.lists(mutations, min_size=1, max_size=6))
def test_mutated_checkpoint_blobs(name, muts):
    oracles.check_all(mutate(SEEDS[name], muts))


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(data):
    oracles.check_all(data)


@FUZZ
@given(st.binary(max_size=400))
def test_values_built_from_bytes_round_trip(data):
    value = oracles.build_value(data)
    oracles.check_dumps(value)
    oracles.check_dumps_typed(value)


@FEWER
@given(value=rich_values, muts=st.lists(mutations, max_size=4))
def test_langgraph_round_trips_and_their_mutants(value, muts):
    """dumps_typed of rich LangGraph values equals the parent's; the bytes (and mutants of them)
    read like the parent reads them."""
    oracles.check_dumps_typed(value)
    try:
        tag, data = oracles.PARENT.dumps_typed(value)
    except Exception:
        return
    if tag != "msgpack":
        return
    oracles.check_loads_typed(mutate(data, muts))


# ---------------------------------------------------------------------------
# The oracles can fail: planted bugs are caught
# ---------------------------------------------------------------------------


class _FakeSerializer:
    def __init__(self, loads_typed):
        self.loads_typed = loads_typed


def test_oracle_catches_a_wrong_value(monkeypatch):
    monkeypatch.setattr(oracles.fast_serde, "loads", lambda data: [1])
    with pytest.raises(oracles.Finding, match="different values"):
        oracles.check_loads(b"\x91\x02")


def test_oracle_catches_a_wrong_exception_type(monkeypatch):
    def boom(data):
        raise TypeError("not a DecodeError")

    monkeypatch.setattr(oracles.fast_serde, "loads", boom)
    with pytest.raises(oracles.Finding, match="raised TypeError"):
        oracles.check_loads(b"\xc1")


def test_oracle_catches_a_bad_offset(monkeypatch):
    def bad_offset(data):
        err = fast_serde.DecodeError("reserved marker at byte 99")
        err.offset = 99
        raise err

    monkeypatch.setattr(oracles.fast_serde, "loads", bad_offset)
    with pytest.raises(oracles.Finding, match="offset"):
        oracles.check_loads(b"\xc1")


def test_oracle_catches_a_divergence_from_the_parent(monkeypatch):
    monkeypatch.setattr(oracles, "FAST", _FakeSerializer(lambda data: "something else"))
    with pytest.raises(oracles.Finding, match="read different values"):
        oracles.check_loads_typed(SEEDS["msg_human"])
    monkeypatch.setattr(oracles, "FAST", _FakeSerializer(lambda data: (_ for _ in ()).throw(fast_serde.DecodeError("x at byte 0"))))
    with pytest.raises(oracles.Finding):
        oracles.check_loads_typed(SEEDS["msg_human"])


def test_oracle_catches_different_bytes(monkeypatch):
    monkeypatch.setattr(oracles.fast_serde, "dumps", lambda v: b"\xc0")
    with pytest.raises(oracles.Finding, match="different bytes"):
        oracles.check_dumps([1, 2])


def test_reference_crash_guard_only_where_the_reference_crashes():
    """The inputs check_loads_typed leaves out (oracles.reference_would_crash): only with an
    ormsgpack older than 1.13 (Python 3.10's), and only inputs with an array32 header declaring
    more elements than bytes left, where a reader meets it (not inside a string). Every other
    input is compared with JsonPlusSerializer."""
    huge = b"\xdd\xff\xff\xff\xff\x01"
    assert oracles.ORMSGPACK_CRASHES_ON_HUGE_ARRAYS == (oracles._ormsgpack_version() < (1, 13))
    assert oracles.reference_would_crash(huge) is oracles.ORMSGPACK_CRASHES_ON_HUGE_ARRAYS
    in_ext = b"\x91\xc7\x06\x00" + huge[:-1] + b"\x01"  # [ext 0 of that array]
    assert oracles.reference_would_crash(in_ext) is oracles.ORMSGPACK_CRASHES_ON_HUGE_ARRAYS
    assert not oracles.reference_would_crash(b"\xdd\x00\x00\x00\x01\x01")
    assert not oracles.reference_would_crash(b"\xa5" + huge[:-1])  # the bytes inside a str
    assert not any(oracles.reference_would_crash(seed) for seed in SEEDS.values())
    # The native reader refuses it on its own, whatever the reference does.
    with pytest.raises(fast_serde.DecodeError):
        fast_serde.loads(huge)
