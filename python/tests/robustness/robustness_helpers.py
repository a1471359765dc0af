"""Helpers of the robustness and security tests (robustness/test_*.py): the seed corpus, the
serializers under test, DecodeError checks, a type-strict deep equality, MessagePack offsets and
ext bytes, outcomes and serde events.

The tests: malformed input, hostile objects, reference leaks, threads, and the msgpack allowlist
as a security boundary (one file each: test_decoder.py, test_encoder.py, test_leaks.py,
test_threads.py, test_allowlist_boundary.py). Seeds are the real checkpoint blobs of
``fixtures/fuzz_corpus`` (``make_corpus.py`` there).
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import Any, Callable

import ormsgpack
from langgraph.checkpoint.serde.event_hooks import register_serde_event_listener
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

import fast_serde
from fast_serde import DecodeError
from fast_serde.langgraph import FastSerializer


REPO_ROOT = Path(__file__).resolve().parents[3]
CORPUS_DIR = REPO_ROOT / "fixtures" / "fuzz_corpus"
CORPUS = sorted(CORPUS_DIR.glob("*.msgpack"))
BLOBS = {p.stem: p.read_bytes() for p in CORPUS}
#: Blobs LangGraph and JsonPlusSerializer wrote (checkpoints, messages, ext types).
REAL = {k: v for k, v in BLOBS.items() if not k.startswith("plain_")}

FAST = FastSerializer()
PARENT = JsonPlusSerializer()
FAST_STRICT = FastSerializer(allowed_msgpack_modules=None)
PARENT_STRICT = JsonPlusSerializer(allowed_msgpack_modules=None)

ORMSGPACK_OPT = ormsgpack.OPT_NON_STR_KEYS | ormsgpack.OPT_REPLACE_SURROGATES


def assert_decode_error(exc: BaseException, data: bytes, offset: int | None = None) -> DecodeError:
    assert isinstance(exc, DecodeError), f"{type(exc).__name__}: {exc}"
    assert isinstance(exc, ValueError)
    off = exc.offset
    assert isinstance(off, int) and 0 <= off <= len(data), (off, len(data), str(exc))
    assert f"at byte {off}" in str(exc), str(exc)
    if offset is not None:
        assert off == offset, (str(exc), offset)
    return exc


def decode_error(fn: Callable[[bytes], Any], data: bytes, offset: int | None = None) -> DecodeError:
    try:
        value = fn(data)
    except BaseException as exc:  # noqa: BLE001 - anything but DecodeError fails below
        return assert_decode_error(exc, data, offset)
    raise AssertionError(f"no DecodeError for {data[:60]!r}...; read {value!r:.100}")


def lg_loads(ser: JsonPlusSerializer) -> Callable[[bytes], Any]:
    return lambda data: ser.loads_typed(("msgpack", data))


DECODERS = {
    "loads": fast_serde.loads,
    "loads_typed": lg_loads(FAST),
    "loads_typed_strict": lg_loads(FAST_STRICT),
}


def same(a: Any, b: Any) -> bool:
    """Type-strict, NaN-aware deep equality (iterative)."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if type(x) is not type(y):
            return False
        if type(x) in (list, tuple):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y))
        elif type(x) is dict:
            if list(map(repr, x)) != list(map(repr, y)):
                return False
            stack.extend(zip(x.values(), y.values()))
        elif isinstance(x, float):
            if not ((math.isnan(x) and math.isnan(y)) or x == y):
                return False
        else:
            try:
                ok = bool(x == y)
            except Exception:
                ok = False
            if not ok and repr(x) != repr(y):
                return False
    return True


def value_offsets(blob: bytes) -> list[int]:
    """Offsets of every value of a MessagePack document (not inside ext payloads)."""
    fixed = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8, 0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8, 0xCA: 4, 0xCB: 8}
    fixext = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}
    lenw = {0xD9: 1, 0xDA: 2, 0xDB: 4, 0xC4: 1, 0xC5: 2, 0xC6: 4}
    out: list[int] = []

    def n_at(pos: int, w: int) -> int:
        return int.from_bytes(blob[pos : pos + w], "big")

    def walk(pos: int) -> int:
        out.append(pos)
        m = blob[pos]
        pos += 1
        if m <= 0x7F or m >= 0xE0 or m in (0xC0, 0xC2, 0xC3):
            return pos
        if 0xA0 <= m <= 0xBF:
            return pos + (m & 0x1F)
        if m in fixed:
            return pos + fixed[m]
        if m in lenw:
            return pos + lenw[m] + n_at(pos, lenw[m])
        if m in fixext:
            return pos + 1 + fixext[m]
        if m in (0xC7, 0xC8, 0xC9):
            w = {0xC7: 1, 0xC8: 2, 0xC9: 4}[m]
            return pos + w + 1 + n_at(pos, w)
        if 0x90 <= m <= 0x9F or m in (0xDC, 0xDD):
            n, pos = (m & 0x0F, pos) if m <= 0x9F else (n_at(pos, 2 if m == 0xDC else 4), pos + (2 if m == 0xDC else 4))
            for _ in range(n):
                pos = walk(pos)
            return pos
        if 0x80 <= m <= 0x8F or m in (0xDE, 0xDF):
            n, pos = (m & 0x0F, pos) if m <= 0x8F else (n_at(pos, 2 if m == 0xDE else 4), pos + (2 if m == 0xDE else 4))
            for _ in range(2 * n):
                pos = walk(pos)
            return pos
        raise AssertionError(f"unexpected marker {m:#x} at {pos - 1}")

    assert walk(0) == len(blob)
    return out


def ext_header(code: int, n: int) -> bytes:
    """The smallest ext header for a payload of `n` bytes (any code -128..127)."""
    fix = {1: 0xD4, 2: 0xD5, 4: 0xD6, 8: 0xD7, 16: 0xD8}
    c = struct.pack(">b", code)
    if n in fix:
        return bytes([fix[n]]) + c
    if n < 256:
        return b"\xc7" + bytes([n]) + c
    if n < 65536:
        return b"\xc8" + struct.pack(">H", n) + c
    return b"\xc9" + struct.pack(">I", n) + c


def ext(code: int, payload: bytes) -> bytes:
    """A MessagePack ext value (any code, any payload) as bytes."""
    return ext_header(code, len(payload)) + payload


def packb(v: Any) -> bytes:
    return ormsgpack.packb(v, option=ormsgpack.OPT_NON_STR_KEYS)


_UUID_HEX = "12345678123456781234567812345678"


def _outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except Exception as exc:  # noqa: BLE001
        return "raised", exc


def _decode_with_events(ser: JsonPlusSerializer, data: bytes) -> tuple[tuple[str, Any], list[dict]]:
    events: list[dict] = []
    unregister = register_serde_event_listener(lambda ev: events.append(dict(ev)))
    try:
        return _outcome(lambda: ser.loads_typed(("msgpack", data))), events
    finally:
        unregister()
