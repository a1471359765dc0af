"""Robustness and security of fast-serde: malformed input, hostile objects, reference leaks,
threads, and the msgpack allowlist as a security boundary.

Decoder: every malformed input ends in ``DecodeError`` (a ``ValueError`` with ``.offset``), for
``fast_serde.loads`` and ``FastSerializer.loads_typed``; where the stock ``JsonPlusSerializer``
reads an input without raising, ``FastSerializer`` reads the same value (trailing bytes aside:
the parent ignores them, fast-serde refuses them on purpose).

Encoder: cycles, deep nesting, out-of-range ints, objects whose callbacks raise, containers
mutated during the walk: all end in ``EncodeError`` naming the path (``$...``), and the next call
writes correct bytes.

Leaks: every path, errors included, run thousands of times keeps the reference counts of its
inputs (and of None/True/False, small ints, keys) and the process RSS flat.

Threads: many threads at once produce exactly the single-thread bytes and objects.

Allowlist: in strict mode no class outside the allowlist is imported or constructed from any
ext code; the method ext (3) never calls a method outside ``SAFE_MSGPACK_METHODS``.

Seeds are the real checkpoint blobs of ``fixtures/fuzz_corpus`` (``make_corpus.py`` there).
"""

from __future__ import annotations

import ctypes
import gc
import json
import logging
import math
import os
import random
import resource
import struct
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import ormsgpack
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.serde import _msgpack as lg_msgpack
from langgraph.checkpoint.serde.event_hooks import register_serde_event_listener
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pydantic import BaseModel

import fast_serde
from fast_serde import MAX_DEPTH, DecodeError, EncodeError, Ext
from fast_serde.langgraph import FastSerializer

REPO_ROOT = Path(__file__).resolve().parents[2]
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


@pytest.fixture(autouse=True)
def _quiet_langgraph_warnings():
    """The parent logs a warning per blocked / unreconstructable type; keep the output short."""
    lg = logging.getLogger("langgraph")
    old = lg.level
    lg.setLevel(logging.ERROR)
    yield
    lg.setLevel(old)


def test_corpus_is_present():
    assert len(CORPUS) >= 30, "fixtures/fuzz_corpus is missing: run fixtures/fuzz_corpus/make_corpus.py"
    assert sum(k.startswith("lg_run_") for k in BLOBS) >= 8


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Decoder: truncation, wrong markers, huge lengths, UTF-8, ext payloads, depth, trailing bytes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BLOBS))
def test_every_truncation_of_real_blobs_is_a_decode_error(name):
    blob = BLOBS[name]
    for n in range(len(blob)):
        prefix = blob[:n]
        for decode in DECODERS.values():
            decode_error(decode, prefix)
    # Views of the buffer are read in place: a truncated view is truncated input too.
    for n in range(0, len(blob), max(1, len(blob) // 16)):
        decode_error(fast_serde.loads, memoryview(blob)[:n])
        decode_error(fast_serde.loads, bytearray(blob[:n]))


@pytest.mark.parametrize("name", sorted(BLOBS))
def test_reserved_marker_at_every_value_of_real_blobs(name):
    """0xc1 (never used) put in place of each value's marker fails exactly there."""
    blob = BLOBS[name]
    for off in value_offsets(blob):
        bad = blob[:off] + b"\xc1" + blob[off + 1 :]
        for decode in DECODERS.values():
            err = decode_error(decode, bad, offset=off)
            assert "0xc1" in str(err)


WRONG_MARKERS = [
    (b"\xc1", 0),
    (b"\x91\xc1", 1),
    (b"\x92\x01\xc1", 2),
    (b"\x81\xc1\x01", 1),
    (b"\x81\x01\xc1", 2),
    (b"\x81\x80\x01", 1),  # a map as a map key: unhashable
    (b"\x81\x91\x80\x01", 1),  # a map inside an array key: the key is unhashable
    (b"\x82\xa1a\x01\xa1b", 6),  # second value missing
]


@pytest.mark.parametrize("data,offset", WRONG_MARKERS, ids=[d.hex() for d, _ in WRONG_MARKERS])
@pytest.mark.parametrize("decoder", sorted(DECODERS))
def test_wrong_markers(decoder, data, offset):
    decode_error(DECODERS[decoder], data, offset=offset)


def _huge_cases() -> list[tuple[str, bytes]]:
    cases = []
    for n in (0xFFFFFFFF, 0x7FFFFFFF, 0x10000000, 0x00100000):
        n32 = struct.pack(">I", n)
        cases += [
            (f"str32-{n:#x}", b"\xdb" + n32 + b"abc"),
            (f"bin32-{n:#x}", b"\xc6" + n32 + b"abc"),
            (f"array32-{n:#x}", b"\xdd" + n32 + b"\x01\x02"),
            (f"map32-{n:#x}", b"\xdf" + n32 + b"\xa1k\x01"),
            (f"ext32-{n:#x}", b"\xc9" + n32 + b"\x05abc"),
            (f"ext32-code0-{n:#x}", b"\xc9" + n32 + b"\x00\x93"),
            (f"nested-array32-{n:#x}", b"\x92\x01\xdd" + n32 + b"\x01"),
            (f"map-key-array32-{n:#x}", b"\x81\xdd" + n32 + b"\x01\x02"),
        ]
    for marker, body in ((b"\xda", b"ab"), (b"\xc5", b"ab"), (b"\xdc", b"\x01"), (b"\xde", b"\x01\x01"), (b"\xc8", b"\x05ab")):
        cases.append((f"{marker.hex()}-ffff", marker + b"\xff\xff" + body))
    for marker, body in ((b"\xd9", b"ab"), (b"\xc4", b"ab"), (b"\xc7", b"\x05ab")):
        cases.append((f"{marker.hex()}-ff", marker + b"\xff" + body))
    # Inside a real checkpoint: its first container claims 4 GiB of items.
    blob = REAL["lg_run_15"] if "lg_run_15" in REAL else max(REAL.values(), key=len)
    if 0x80 <= blob[0] <= 0x8F:
        cases.append(("real-blob-map32", b"\xdf\xff\xff\xff\xff" + blob[1:]))
    return cases


HUGE = _huge_cases()


@pytest.mark.parametrize("data", [d for _, d in HUGE], ids=[n for n, _ in HUGE])
@pytest.mark.parametrize("decoder", sorted(DECODERS))
def test_declared_lengths_beyond_the_input_fail_before_allocating(decoder, data):
    decode = DECODERS[decoder]
    decode(b"\x91\x01")  # warm up (module state, caches) outside the measurement
    gc.collect()
    maxrss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    try:
        decode_error(decode, data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    grew_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - maxrss0
    assert peak < 1 << 20, f"{peak} bytes traced while refusing a {len(data)}-byte input"
    assert grew_kib < 64 << 10, f"max RSS grew by {grew_kib} KiB"


def _amplifier(levels: int, filler: int, key: bool) -> bytes:
    """Nested array32 headers, each declaring as many items as there are bytes left (so every
    header passes the 'one byte per item' check), under a map key (tuples) or not (lists)."""
    prefix = b"\x81" if key else b""
    out = bytearray(prefix)
    total = len(prefix) + levels * 5 + filler
    for _ in range(levels):
        out += b"\xdd" + struct.pack(">I", total - len(out) - 5)
    out += b"\x00" * filler
    return bytes(out)


@pytest.mark.parametrize("key", [False, True], ids=["lists", "tuple-keys"])
def test_nested_declared_lengths_do_not_amplify_memory(key):
    data = _amplifier(levels=100, filler=32 << 10, key=key)
    fast_serde.loads(b"\x91\x01")
    tracemalloc.start()
    try:
        decode_error(fast_serde.loads, data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 << 20, f"{peak >> 20} MiB traced while refusing a {len(data) >> 10} KiB input"


INVALID_UTF8 = [
    b"\xff",
    b"\xfe\xff",
    b"\xc3\x28",  # bad continuation
    b"\xc0\xaf",  # overlong '/'
    b"\xe0\x80\xaf",  # overlong
    b"\xed\xa0\x80",  # UTF-16 surrogate
    b"\xf4\x90\x80\x80",  # above U+10FFFF
    b"abc\xe2\x82",  # truncated sequence at the end
    b"\x80",  # lone continuation byte
]


def _str(marker_width: int, raw: bytes) -> bytes:
    n = len(raw)
    if marker_width == 0:
        return bytes([0xA0 | n]) + raw
    return {1: b"\xd9", 2: b"\xda", 4: b"\xdb"}[marker_width] + n.to_bytes(marker_width, "big") + raw


@pytest.mark.parametrize("raw", INVALID_UTF8, ids=[r.hex() for r in INVALID_UTF8])
@pytest.mark.parametrize("width", [0, 1, 2, 4], ids=["fixstr", "str8", "str16", "str32"])
def test_invalid_utf8_is_a_decode_error_at_the_str(width, raw):
    s = _str(width, raw)
    cases = [
        (s, 0),
        (b"\x92\x01" + s, 2),  # array item
        (b"\x81" + s + b"\x01", 1),  # map key (key cache path)
        (b"\x81\xa1k" + s, 3),  # map value
        (b"\x81\x92\x01" + s + b"\x01", 3),  # inside an array key (tuple)
    ]
    for data, offset in cases:
        for decode in DECODERS.values():
            decode_error(decode, data, offset=offset)


_UUID_HEX = "12345678123456781234567812345678"
_VALID_UUID = packb(("uuid", "UUID", _UUID_HEX))

EXT_PAYLOADS = {
    "empty": b"",
    "reserved": b"\xc1",
    "truncated-array": b"\x93",
    "nil": packb(None),
    "int": packb(1),
    "str": packb("uuid"),
    "empty-array": packb([]),
    "one": packb(["uuid"]),
    "two": packb(["uuid", "UUID"]),
    "valid-uuid": _VALID_UUID,
    "uuid-bad-arg": packb(("uuid", "UUID", "zz")),
    "uuid-arg-list": packb(("uuid", "UUID", [1, 2])),
    "four": packb(("uuid", "UUID", _UUID_HEX, "x")),
    "five": packb(("uuid", "UUID", _UUID_HEX, "x", "y")),
    "ints": packb((1, 2, 3)),
    "bin-names": packb((b"uuid", b"UUID", _UUID_HEX)),
    "invalid-utf8-name": b"\x93\xa2\xff\xfe\xa4UUID\x01",
    "trailing-in-payload": _VALID_UUID + b"\x00",
    "truncated-payload": _VALID_UUID[:-3],
    "map": packb({"module": "uuid"}),
    "no-such-module": packb(("fast_serde_no_such_module", "X", 1)),
    "no-such-name": packb(("uuid", "NoSuchName", 1)),
    "decimal-pos": packb(("decimal", "Decimal", ["1.5"])),
    "decimal-kw": packb(("decimal", "Decimal", {"value": "2"})),
    "decimal-kw-bad-key": packb(("decimal", "Decimal", {1: "2"})),
    "fromisoformat": packb(("datetime", "datetime", "2024-01-02T03:04:05", "fromisoformat")),
    "fromisoformat-bad": packb(("datetime", "datetime", "not a date", "fromisoformat")),
    "blocked-method": packb(("datetime", "datetime", "2024-01-02", "isoformat")),
    "send": packb(("langgraph.types", "Send", ["node", {"a": 1}])),
    "send-bad": packb(("langgraph.types", "Send", "notalist")),
    "message-kw": packb(("langchain_core.messages.human", "HumanMessage", {"content": "hi", "id": "x"}, "model_validate_json")),
    "message-bad-kw": packb(("langchain_core.messages.human", "HumanMessage", {"content": 5, "zz": 1}, "model_validate_json")),
    "numpy": packb(("<i4", [2], "C", b"\x01\x00\x00\x00\x02\x00\x00\x00")),
    "numpy-bad-shape": packb(("<i4", [3], "C", b"\x00" * 8)),
    "numpy-bad-dtype": packb(("zz", [1], "C", b"")),
    "nested-bad": packb(("builtins", "set", [ormsgpack.Ext(0, packb(("uuid", "UUID", "bad")))])),
    "nested-reserved": packb(("builtins", "set", [ormsgpack.Ext(0, b"\xc1")])),
    "nested-delta-reserved": packb(("builtins", "set", [ormsgpack.Ext(7, b"\xc1")])),
}
EXT_CODES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 42, -1, -128]


def _outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except Exception as exc:  # noqa: BLE001
        return "raised", exc


@pytest.mark.parametrize("payload", sorted(EXT_PAYLOADS))
@pytest.mark.parametrize("strict", [False, True], ids=["permissive", "strict"])
def test_ext_payloads_read_like_the_parent(strict, payload):
    """Every code with every odd payload, at the top level and nested: where the parent reads the
    input, FastSerializer reads the same value (and emits the same allowlist events); where the
    parent raises, FastSerializer raises DecodeError. fast_serde.loads keeps the raw Ext."""
    fast, parent = (FAST_STRICT, PARENT_STRICT) if strict else (FAST, PARENT)
    body = EXT_PAYLOADS[payload]
    for code in EXT_CODES:
        e = ext(code, body)
        for data in (e, b"\x92\x01" + e, b"\x81\xa1k" + e):
            ref, parent_events = _decode_with_events(parent, data)
            ours, our_events = _decode_with_events(fast, data)
            where = f"code {code}, {payload}, {data[:40]!r}"
            if ref[0] == "ok":
                assert ours[0] == "ok", f"{where}: parent read {ref[1]!r:.80}, FastSerializer raised {ours[1]!r}"
                assert same(ours[1], ref[1]), f"{where}: {ours[1]!r:.120} != {ref[1]!r:.120}"
                assert our_events == parent_events, where
            else:
                assert ours[0] == "raised", f"{where}: parent raised {ref[1]!r}, FastSerializer read {ours[1]!r:.80}"
                assert_decode_error(ours[1], data)
        plain = fast_serde.loads(e)
        if code == -1 and len(body) in (4, 8, 12):
            continue  # the timestamp extension
        assert plain == Ext(code, body)


@pytest.mark.parametrize(
    "data,offset",
    [
        (b"\x91" * 100_000 + b"\xc0", MAX_DEPTH),
        (b"\x81\xa0" * 100_000 + b"\xc0", 2 * MAX_DEPTH),
        (b"\xdd\x00\x00\x00\x01" * 100_000 + b"\xc0", 5 * MAX_DEPTH),
        (b"\x81\x91" + b"\x91" * 100_000 + b"\xc0", MAX_DEPTH),
        (b"\x92\x01" * 100_000 + b"\xc0", 2 * MAX_DEPTH),
    ],
    ids=["arrays", "maps", "array32", "map-key-tuples", "wide-arrays"],
)
@pytest.mark.parametrize("decoder", sorted(DECODERS))
def test_nesting_100000_deep_is_a_decode_error(decoder, data, offset):
    err = decode_error(DECODERS[decoder], data, offset=offset)
    assert "nesting" in str(err)


def test_nesting_up_to_max_depth_reads():
    for decode in DECODERS.values():
        assert decode(b"\x91" * MAX_DEPTH + b"\xc0") is not None
        decode_error(decode, b"\x91" * (MAX_DEPTH + 1) + b"\xc0", offset=MAX_DEPTH)


def _ext_chain(depth: int, code: int) -> bytes:
    """`depth` ext values, each the payload of the next (ext 0 builtins.tuple, or ext 7), built
    outside-in without quadratic copying."""
    inner = packb([1])
    head = packb(("builtins", "tuple", None))[:-1] if code == 0 else b""  # fixarray(3), module, name
    prefixes = []
    size = len(inner)
    for _ in range(depth):
        payload_len = len(head) + size
        hdr = ext_header(code, payload_len)
        prefixes.append(hdr + head)
        size += len(hdr) + len(head)
    return b"".join(reversed(prefixes)) + inner


@pytest.mark.parametrize("code", [0, 7])
def test_ext_nesting_100000_deep_is_a_decode_error(code):
    data = _ext_chain(100_000, code)
    for ser in (FAST, FAST_STRICT):
        err = decode_error(lg_loads(ser), data)
        assert "nesting" in str(err)
    # The plain reader does not look inside ext payloads.
    assert fast_serde.loads(data).code == code


_SMALL_STACK_SCRIPT = textwrap.dedent(
    """
    import sys, threading, logging
    from dataclasses import dataclass
    from typing import Any
    logging.disable(logging.CRITICAL)
    sys.path.insert(0, sys.argv[3])
    from test_robustness import _ext_chain, FAST, FAST_STRICT

    @dataclass
    class Box:
        v: Any

    what, depth = sys.argv[1], int(sys.argv[2])
    if what == "write":
        value = 1
        for _ in range(depth):
            value = Box(value)
    else:
        data = _ext_chain(depth, int(what))
    out = []
    def run():
        try:
            if what == "write":
                FAST.dumps_typed(value)
                out.append("wrote")
            else:
                for ser in (FAST, FAST_STRICT):
                    ser.loads_typed(("msgpack", data))
                out.append("read")
        except Exception as exc:
            out.append(type(exc).__name__)
    threading.stack_size(512 * 1024)
    t = threading.Thread(target=run)
    t.start()
    t.join()
    print(out[0])
    """
)


@pytest.mark.parametrize(
    "what, expected",
    [("7", "DecodeError"), ("0", "DecodeError"), ("write", "EncodeError")],
    ids=["ext7-chain", "ext0-chain", "dataclass-chain"],
)
def test_deep_ext_nesting_in_a_512k_stack_thread_does_not_crash(what, expected):
    """macOS gives threads 512 KiB of stack: 3000 nested ext payloads must end in an error
    (the stack red zone, or MAX_TOTAL_DEPTH), never SIGSEGV. (JsonPlusSerializer itself dies
    at ~800 levels there.)"""
    proc = subprocess.run(
        [sys.executable, "-c", _SMALL_STACK_SCRIPT, what, "3000", str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-500:]}"
    assert proc.stdout.strip() == expected, proc.stdout


TRAILERS = [b"\x00", b"\xc0", b"\xc1", b"\x91", b"\xff" * 9]


@pytest.mark.parametrize("name", sorted(BLOBS))
def test_trailing_bytes_are_a_decode_error(name):
    blob = BLOBS[name]
    for trailer in TRAILERS + [blob]:
        data = blob + trailer
        for decode in DECODERS.values():
            err = decode_error(decode, data, offset=len(blob))
            assert "trailing" in str(err)
        # Deliberate difference: the parent ignores what follows the first value.
        ref = _outcome(lambda: PARENT.loads_typed(("msgpack", data)))
        if ref[0] == "ok":
            assert same(ref[1], PARENT.loads_typed(("msgpack", blob)))


def test_empty_input():
    for decode in DECODERS.values():
        decode_error(decode, b"", offset=0)


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_blobs_read_like_the_parent(name):
    blob = REAL[name]
    for fast, parent in ((FAST, PARENT), (FAST_STRICT, PARENT_STRICT)):
        assert same(fast.loads_typed(("msgpack", blob)), parent.loads_typed(("msgpack", blob)))


# ---------------------------------------------------------------------------
# Encoder: hostile objects, and no corrupted buffer for the next call
# ---------------------------------------------------------------------------

GOOD = {"messages": ["hi", 1, 2.5, None, True, b"\x00" * 40], "k": {"nested": [1, [2, [3]]]}, 7: (1, "x")}
GOOD_BYTES = ormsgpack.packb(GOOD, option=ORMSGPACK_OPT)
GOOD_LG = {"messages": [HumanMessage(content="q", id="1"), AIMessage(content="a", id="2")], "n": 3, "u": uuid.UUID(int=5)}
GOOD_LG_BYTES = PARENT.dumps_typed(GOOD_LG)


def assert_next_call_is_clean():
    """A failed walk must not leave bytes behind in the reused buffer."""
    assert fast_serde.dumps(GOOD) == GOOD_BYTES
    assert FAST.dumps_typed(GOOD_LG) == GOOD_LG_BYTES
    assert fast_serde.dumps([]) == b"\x90"


def encode_error(fn: Callable[[], Any], *fragments: str) -> EncodeError:
    try:
        out = fn()
    except EncodeError as exc:
        msg = str(exc)
        assert "$" in msg, msg
        for f in fragments:
            assert f in msg, (f, msg)
        assert_next_call_is_clean()
        return exc
    raise AssertionError(f"no EncodeError; wrote {out!r:.100}")


class Opaque:
    pass


def _cycles() -> dict[str, Any]:
    a: list[Any] = []
    a.append(a)
    d: dict[str, Any] = {}
    d["self"] = d
    inner: dict[str, Any] = {"x": 1}
    outer = {"list": [1, {"inner": inner}]}
    inner["back"] = outer
    t_list: list[Any] = [1]
    t = (t_list,)
    t_list.append(t)
    return {"list": a, "dict": d, "through-dict-and-list": outer, "through-tuple": t}


@pytest.mark.parametrize("kind", sorted(_cycles()))
def test_cycles_are_an_encode_error_naming_the_path(kind):
    value = {"root": _cycles()[kind]}
    e1 = encode_error(lambda: fast_serde.dumps(value), "circular", "$['root']")
    e2 = encode_error(lambda: FAST.dumps_typed(value), "circular", "$['root']")
    assert str(e1) == str(e2)


def test_cycle_through_default_is_an_encode_error():
    class Node:
        pass

    n = Node()
    encode_error(lambda: fast_serde.dumps({"n": n}, default=lambda o: [o]), "$['n']")
    encode_error(lambda: fast_serde.dumps({"n": n}, default=lambda o: {"again": o}), "$['n']")


def _deep(kind: str, depth: int = 100_000) -> Any:
    v: Any = 1
    for _ in range(depth):
        v = {"k": v} if kind == "dict" else (v,) if kind == "tuple" else [v]
    return v


@pytest.mark.parametrize("kind", ["list", "dict", "tuple"])
def test_100000_deep_nesting_is_an_encode_error(kind):
    value = _deep(kind)
    step = "['k']" if kind == "dict" else "[0]"
    encode_error(lambda: fast_serde.dumps(value), "nesting", "$" + step * 3)
    encode_error(lambda: FAST.dumps_typed(value), "nesting", "$" + step * 3)
    assert fast_serde.dumps(_deep(kind, MAX_DEPTH - 1)) == ormsgpack.packb(_deep(kind, MAX_DEPTH - 1))


BIG_INTS = [2**64, -(2**63) - 1, 2**1000, -(2**200)]


@pytest.mark.parametrize("n", BIG_INTS, ids=["2**64", "-2**63-1", "2**1000", "-2**200"])
def test_ints_beyond_64_bits_are_an_encode_error(n):
    class MyInt(int):
        pass

    for v in (n, MyInt(n)):
        encode_error(lambda: fast_serde.dumps({"a": [0, v]}), "$['a'][1]")
        encode_error(lambda: FAST.dumps_typed({"a": [0, v]}), "$['a'][1]")
        encode_error(lambda: fast_serde.dumps({v: 1}), "$")
    assert fast_serde.dumps([2**64 - 1, -(2**63)]) == ormsgpack.packb([2**64 - 1, -(2**63)])


class OddStr(str):
    """A str subclass whose text hooks all misbehave; the walker writes the str data itself."""

    def __str__(self) -> str:
        raise RuntimeError("__str__ called")

    def __repr__(self) -> str:
        raise RuntimeError("__repr__ called")

    def __format__(self, spec: str) -> str:
        raise RuntimeError("__format__ called")

    def encode(self, *a: Any, **k: Any) -> bytes:  # type: ignore[override]
        raise RuntimeError("encode called")

    def __len__(self) -> int:
        raise RuntimeError("__len__ called")


class LyingStr(str):
    def __str__(self) -> str:
        return "something else"


def test_str_subclasses_with_odd_hooks():
    for s in (OddStr("välue"), LyingStr("value"), OddStr("\ud800x")):
        plain = str.__str__(s)
        value = {s: [s, {"k": s}]}
        ref = ormsgpack.packb({plain: [plain, {"k": plain}]}, option=ORMSGPACK_OPT) if "\ud800" not in plain else None
        if ref is not None:
            assert fast_serde.dumps(value) == ref
            assert FAST.dumps_typed(value) == PARENT.dumps_typed(value)
        else:
            # A lone surrogate in a str-subclass key is replaced, as ormsgpack's DictKey replaces
            # it (only an exact str key is refused); as a value, replaced too.
            assert fast_serde.dumps(value) == ormsgpack.packb(value, option=ORMSGPACK_OPT)
            assert FAST.dumps_typed(value) == PARENT.dumps_typed(value)
            encode_error(lambda: fast_serde.dumps({plain: 1}), "surrogates")
            assert fast_serde.dumps([s]) == ormsgpack.packb([plain], option=ORMSGPACK_OPT)
    # An unsupported value under such a key: the path cannot use the key's repr, but is there.
    encode_error(lambda: fast_serde.dumps({OddStr("k"): Opaque()}), "$[")
    assert_next_call_is_clean()


class DictRaises:
    @property
    def __dict__(self):  # type: ignore[override]
        raise RuntimeError("__dict__ raised")


class ModelDumpRaises(BaseModel):
    a: int = 1

    def model_dump(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        raise RuntimeError("model_dump raised")


class ModelDumpReturnsOpaque(BaseModel):
    a: int = 1

    def model_dump(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return {"inner": Opaque()}


class EqRaises:
    def __eq__(self, other: object) -> bool:
        raise RuntimeError("__eq__ raised")

    def __hash__(self) -> int:
        return 1


@dataclass
class DataclassWithRaisingField:
    x: Any


def test_objects_whose_dict_raises():
    encode_error(lambda: fast_serde.dumps({"x": [DictRaises()]}, default=lambda o: o.__dict__), "$['x'][0]", "__dict__ raised")
    encode_error(lambda: FAST.dumps_typed({"x": [DictRaises()]}), "$['x'][0]")
    encode_error(lambda: FAST.dumps_typed({"x": DataclassWithRaisingField(DictRaises())}), "$['x']")


def test_model_dump_that_raises_or_returns_garbage():
    err = encode_error(lambda: FAST.dumps_typed({"m": [ModelDumpRaises()]}), "$['m'][0]", "model_dump raised")
    assert isinstance(err.__cause__, RuntimeError)
    encode_error(lambda: FAST.dumps_typed({"m": ModelDumpReturnsOpaque()}), "$['m']")
    encode_error(lambda: fast_serde.dumps({"m": ModelDumpRaises()}, default=lambda o: o.model_dump()), "$['m']", "model_dump raised")


def test_instance_level_model_dump_does_not_fix_the_class_plan():
    @dataclass
    class Rec:
        x: int

    odd = Rec(1)
    odd.model_dump = lambda: {"y": 1}  # type: ignore[attr-defined]
    assert FAST.dumps_typed(odd) == PARENT.dumps_typed(odd)
    assert FAST.dumps_typed(Rec(2)) == PARENT.dumps_typed(Rec(2))
    # And the other way round: the class plan is cached first, then odd instances meet it.
    @dataclass
    class Rec2:
        x: int

    assert FAST.dumps_typed([Rec2(1)]) == PARENT.dumps_typed([Rec2(1)])
    for attr, value in [("model_dump", lambda: {"y": 1}), ("get_secret_value", lambda: "s"), ("dict", lambda: {"d": 1}), ("_asdict", lambda: {"a": 1}), ("model_dump", 5)]:
        odd2 = Rec2(3)
        setattr(odd2, attr, value)
        assert FAST.dumps_typed({"v": [odd2, Rec2(4)]}) == PARENT.dumps_typed({"v": [odd2, Rec2(4)]}), attr


def test_enum_members_and_exceptions_keep_their_plans():
    # Both have an instance __dict__ (checked per object) without steering attributes.
    from enum import Enum

    class Colour(Enum):
        RED = "r"
        BLUE = "b"

    values = {"c": [Colour.RED, Colour.BLUE, Colour.RED], "e": [ValueError("x"), KeyError("k")]}
    assert FAST.dumps_typed(values) == PARENT.dumps_typed(values)


def test_eq_that_raises():
    # Never compared: as a value and as a key it is just an unsupported type (or default's).
    encode_error(lambda: fast_serde.dumps({"a": EqRaises()}), "$['a']")
    encode_error(lambda: fast_serde.dumps({EqRaises(): 1}), "$[")
    assert fast_serde.dumps({EqRaises(): 1}, default=lambda o: "k") == ormsgpack.packb({"k": 1})
    encode_error(lambda: FAST.dumps_typed({"a": {EqRaises(): 1}}), "$['a']")
    assert_next_call_is_clean()


@pytest.mark.parametrize("exc", [RuntimeError("boom"), ValueError("bad"), TypeError("type"), RecursionError("deep")])
def test_default_that_raises(exc):
    def default(o: Any) -> Any:
        raise exc

    err = encode_error(lambda: fast_serde.dumps({"a": [1, {"b": Opaque()}]}, default=default), "$['a'][1]['b']", "Opaque")
    assert err.__cause__ is exc


def test_default_returning_unsupported_values():
    encode_error(lambda: fast_serde.dumps({"a": Opaque()}, default=lambda o: Opaque()), "$['a']")
    encode_error(lambda: fast_serde.dumps({"a": Opaque()}, default=lambda o: object()), "$['a']")
    encode_error(lambda: fast_serde.dumps({"a": Opaque()}, default=lambda o: 2**70), "$['a']")


def _mutating_cases() -> dict[str, Callable[[], Any]]:
    def grow():
        d = {"a": 1, "b": Opaque(), "c": 3}

        def default(o: Any) -> Any:
            d["added"] = 1
            return 0

        return lambda: fast_serde.dumps({"root": d}, default=default)

    def shrink():
        d = {"a": 1, "b": Opaque(), "c": 3}

        def default(o: Any) -> Any:
            d.pop("c")
            return 0

        return lambda: fast_serde.dumps({"root": d}, default=default)

    def clear():
        d = {"a": 1, "b": Opaque(), "c": 3, "d": [1, 2]}

        def default(o: Any) -> Any:
            d.clear()
            return 0

        return lambda: fast_serde.dumps({"root": d}, default=default)

    def swap():
        d = {"a": 1, "b": Opaque(), "c": 3}

        def default(o: Any) -> Any:
            del d["a"]
            d["z"] = 2
            return 0

        return lambda: fast_serde.dumps({"root": d}, default=default)

    def grow_a_lot():
        d = {"a": 1, "b": Opaque()}

        def default(o: Any) -> Any:
            for i in range(1000):  # forces the dict to resize under the iterator
                d[f"k{i}"] = i
            return 0

        return lambda: fast_serde.dumps({"root": d}, default=default)

    def split_turns_combined():
        obj = Opaque()
        obj.a, obj.b, obj.c = 1, Opaque(), 3
        d = vars(obj)  # a split table (inline values on 3.13)

        def default(o: Any) -> Any:
            d[7] = "int key"  # the table becomes a combined, general one under the walker
            return 0

        return lambda: fast_serde.dumps({"root": d}, default=default)

    def general_keys_resize():
        d = {1: 1, 2: Opaque(), 3: 3}

        def default(o: Any) -> Any:
            for i in range(10, 1010):
                d[i] = i
            for i in range(10, 1009):
                del d[i]  # the same size as before the resize, one key more
            del d[1]
            return 0

        return lambda: fast_serde.dumps({"root": d}, default=default)

    def list_grow():
        lst = [1, Opaque(), 3]

        def default(o: Any) -> Any:
            lst.extend(range(100))
            return 0

        return lambda: fast_serde.dumps({"root": lst}, default=default)

    def list_clear():
        lst = [1, Opaque(), 3, "x" * 100]

        def default(o: Any) -> Any:
            lst.clear()
            return 0

        return lambda: fast_serde.dumps({"root": lst}, default=default)

    def model_dump_mutates_parent():
        parent: dict[str, Any] = {}

        class M(BaseModel):
            a: int = 1

            def model_dump(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
                parent["added"] = 1
                return {"a": 1}

        parent.update({"m": M(), "x": 1})
        return lambda: FAST.dumps_typed({"root": parent})

    cases = (grow, shrink, clear, swap, grow_a_lot, split_turns_combined, general_keys_resize)
    cases += (list_grow, list_clear, model_dump_mutates_parent)
    return {f.__name__: f for f in cases}


@pytest.mark.parametrize("case", sorted(_mutating_cases()))
def test_containers_mutated_during_the_walk(case):
    call = _mutating_cases()[case]()
    try:
        out = call()
    except EncodeError as exc:
        assert "$['root']" in str(exc), str(exc)
        assert "changed size" in str(exc), str(exc)
    else:
        # A same-size change may be written, but only as a well-formed document.
        data = out[1] if isinstance(out, tuple) else out
        fast_serde.loads(data)
    assert_next_call_is_clean()


def test_nested_dumps_inside_default_gets_its_own_buffer():
    def default(o: Any) -> Any:
        inner = fast_serde.dumps({"inner": [1, 2, 3]})
        with pytest.raises(EncodeError):
            fast_serde.dumps([Opaque()])
        return inner

    out = fast_serde.dumps({"a": Opaque(), "b": "after"}, default=default)
    assert fast_serde.loads(out) == {"a": fast_serde.dumps({"inner": [1, 2, 3]}), "b": "after"}
    assert_next_call_is_clean()


# ---------------------------------------------------------------------------
# Reference leaks: every path, errors included
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# Threads: the same bytes and objects as one thread
# ---------------------------------------------------------------------------


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

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=worker, args=(t,)) for t in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
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

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=worker, args=(t,)) for t in range(9)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert not failures, failures[:5]


# ---------------------------------------------------------------------------
# The allowlist as a security boundary
# ---------------------------------------------------------------------------

PROBE_SOURCE = '''
import os

def _log(what):
    with open(os.environ["FAST_SERDE_PROBE_LOG"], "a") as f:
        f.write(what + "\\n")

_log("import")


class Probe:
    def __init__(self, *args, **kwargs):
        _log("construct")

    @classmethod
    def model_construct(cls, *args, **kwargs):
        _log("construct")
        return object.__new__(cls)

    @classmethod
    def construct(cls, *args, **kwargs):
        _log("construct")
        return object.__new__(cls)

    @classmethod
    def evil(cls, *args, **kwargs):
        _log("method")
        return "evil"

    @classmethod
    def fromisoformat(cls, *args, **kwargs):
        _log("method")
        return "evil"


def evil(*args, **kwargs):
    _log("call")
    return "evil"
'''


@pytest.fixture
def probe(tmp_path, monkeypatch):
    """A module on sys.path that records its import and every construction / call in a file."""
    name = f"fast_serde_probe_{uuid.uuid4().hex[:12]}"
    (tmp_path / f"{name}.py").write_text(PROBE_SOURCE)
    log = tmp_path / "probe.log"
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("FAST_SERDE_PROBE_LOG", str(log))
    ns = SimpleNamespace(
        module=name,
        path=tmp_path,
        log=log,
        records=lambda: log.read_text().split() if log.exists() else [],
    )
    yield ns
    sys.modules.pop(name, None)


def probe_payloads(module: str) -> dict[str, bytes]:
    """Every ext code's way to reach the probe: constructors (0, 1, 2), the method ext (3),
    pydantic v1/v2 (4, 5), a bare function, and the probe nested inside an allowed type."""

    def e(code: int, tup: tuple) -> bytes:
        return packb(ormsgpack.Ext(code, packb(tup)))

    return {
        "0-single-arg": e(0, (module, "Probe", "arg")),
        "1-pos-args": e(1, (module, "Probe", ["a", 1])),
        "2-kw-args": e(2, (module, "Probe", {"a": 1})),
        "3-method": e(3, (module, "Probe", "arg", "evil")),
        "3-safe-method-name": e(3, (module, "Probe", "2024-01-01", "fromisoformat")),
        "3-function-call": e(3, (module, "evil", "arg", "__call__")),
        "4-pydantic-v1": e(4, (module, "Probe", {"a": 1})),
        "5-pydantic-v2": e(5, (module, "Probe", {"a": 1}, "model_validate_json")),
        "0-function": e(0, (module, "evil", "arg")),
        "nested-in-safe-type": packb(ormsgpack.Ext(0, packb(("builtins", "frozenset", [ormsgpack.Ext(0, packb((module, "Probe", "x")))])))),
        "in-map": packb({"k": [ormsgpack.Ext(2, packb((module, "Probe", {"b": 2})))]}),
    }


def _decode_with_events(ser: JsonPlusSerializer, data: bytes) -> tuple[tuple[str, Any], list[dict]]:
    events: list[dict] = []
    unregister = register_serde_event_listener(lambda ev: events.append(dict(ev)))
    try:
        return _outcome(lambda: ser.loads_typed(("msgpack", data))), events
    finally:
        unregister()


STRICT_CONFIGS = {
    "allowed=None": dict(allowed_msgpack_modules=None),
    "allowed=[other]": dict(allowed_msgpack_modules=[("some.other.module", "Thing")]),
    "allowed=[same module, other name]": "same-module",
    "allowed=None, validate_models=False": dict(allowed_msgpack_modules=None, validate_models=False),
    "allowed=None + with_msgpack_allowlist([other])": "with-allowlist",
}


def _make(config: Any, module: str, cls: type) -> JsonPlusSerializer:
    if config == "same-module":
        return cls(allowed_msgpack_modules=[(module, "NotProbe")])
    if config == "with-allowlist":
        return cls(allowed_msgpack_modules=None).with_msgpack_allowlist([("some.other.module", "Thing")])
    kwargs = dict(config)
    if cls is JsonPlusSerializer:
        kwargs.pop("validate_models", None)
    return cls(**kwargs)


@pytest.mark.parametrize("config", sorted(STRICT_CONFIGS))
def test_strict_mode_never_imports_or_constructs_outside_the_allowlist(probe, config):
    cfg = STRICT_CONFIGS[config]
    fast = _make(cfg, probe.module, FastSerializer)
    parent = _make(cfg, probe.module, JsonPlusSerializer)
    # Another serializer that does allow the probe must not share its classes with `fast`.
    allowing = FastSerializer(allowed_msgpack_modules=[(probe.module, "Probe")])
    for name, data in probe_payloads(probe.module).items():
        ours, our_events = _decode_with_events(fast, data)
        assert probe.records() == [], f"{name}: {probe.records()}"
        assert probe.module not in sys.modules, f"{name}: the probe module was imported"
        ref, parent_events = _decode_with_events(parent, data)
        assert probe.records() == [], f"{name}: the parent imported it: {probe.records()}"
        assert ours[0] == ref[0] == "ok", (name, ours, ref)
        assert same(ours[1], ref[1]), (name, ours[1], ref[1])
        assert our_events == parent_events, name
    # Positive control: the same payloads do reach the probe when it is allowed...
    allowing.loads_typed(("msgpack", probe_payloads(probe.module)["0-single-arg"]))
    assert probe.records() == ["import", "construct"]
    # ...and doing so caches nothing that the strict serializer would use.
    log_len = len(probe.records())
    for data in probe_payloads(probe.module).values():
        fast.loads_typed(("msgpack", data))
    assert len(probe.records()) == log_len


@pytest.mark.parametrize("mode", ["permissive", "allowlisted", "strict"])
def test_method_ext_never_calls_a_method_outside_safe_methods(probe, mode):
    assert ("datetime", "datetime", "fromisoformat") in lg_msgpack.SAFE_MSGPACK_METHODS
    kwargs: dict[str, Any] = {
        "permissive": {},
        "allowlisted": {"allowed_msgpack_modules": [(probe.module, "Probe"), (probe.module, "evil")]},
        "strict": {"allowed_msgpack_modules": None},
    }[mode]
    fast, parent = FastSerializer(**kwargs), JsonPlusSerializer(**kwargs)
    payloads = probe_payloads(probe.module)
    for name in ("3-method", "3-safe-method-name", "3-function-call"):
        data = payloads[name]
        ours, our_events = _decode_with_events(fast, data)
        ref, parent_events = _decode_with_events(parent, data)
        assert "method" not in probe.records() and "call" not in probe.records(), (name, probe.records())
        # Blocked before anything is imported, in every mode (as the parent does).
        assert probe.records() == [], (name, probe.records())
        assert same(ours, ref) and our_events == parent_events, name
        assert any(ev["kind"] == "msgpack_method_blocked" for ev in our_events), our_events
    # The allowed method still works.
    ok = packb(ormsgpack.Ext(3, packb(("datetime", "datetime", "2024-01-02T03:04:05", "fromisoformat"))))
    assert fast.loads_typed(("msgpack", ok)) == parent.loads_typed(("msgpack", ok))


def test_permissive_mode_constructs_like_the_parent(probe):
    """The control case: the default (permissive) mode of both serializers does import and call
    what the checkpoint names (JsonPlusSerializer's documented behaviour), never methods."""
    payloads = probe_payloads(probe.module)
    for name in ("0-single-arg", "1-pos-args", "2-kw-args", "4-pydantic-v1", "5-pydantic-v2", "0-function"):
        for ser in (FastSerializer(), JsonPlusSerializer()):
            probe.log.unlink(missing_ok=True)
            ser.loads_typed(("msgpack", payloads[name]))
            recs = probe.records()
            assert recs and set(recs) <= {"import", "construct", "call"}, (name, type(ser).__name__, recs)
            assert "construct" in recs or "call" in recs, (name, recs)


_SUBPROCESS_SCRIPT = textwrap.dedent(
    """
    import json, logging, sys
    logging.disable(logging.CRITICAL)
    sys.path.insert(0, sys.argv[1])
    sys.path.insert(0, sys.argv[2])
    from test_robustness import probe_payloads, _outcome
    from fast_serde.langgraph import FastSerializer
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
    out = {}
    for cls in (FastSerializer, JsonPlusSerializer):
        ser = cls()
        for name, data in probe_payloads(sys.argv[3]).items():
            kind, value = _outcome(lambda: ser.loads_typed(("msgpack", data)))
            out[cls.__name__ + ":" + name] = [kind, repr(value)[:200]]
    out["imported"] = sys.argv[3] in sys.modules
    print(json.dumps(out))
    """
)


def _run_probe_subprocess(probe: SimpleNamespace, strict: bool | None) -> dict[str, Any]:
    env = dict(os.environ)
    env.pop("LANGGRAPH_STRICT_MSGPACK", None)
    if strict is not None:
        env["LANGGRAPH_STRICT_MSGPACK"] = "true" if strict else "false"
    env["FAST_SERDE_PROBE_LOG"] = str(probe.log)
    proc = subprocess.run(
        [sys.executable, "-c", _SUBPROCESS_SCRIPT, str(probe.path), str(Path(__file__).parent), probe.module],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_strict_env_variable_blocks_every_ext_code_in_a_fresh_process(probe):
    out = _run_probe_subprocess(probe, strict=True)
    assert probe.records() == [], probe.records()
    assert out.pop("imported") is False
    names = probe_payloads(probe.module)
    for name in names:
        ours, ref = out[f"FastSerializer:{name}"], out[f"JsonPlusSerializer:{name}"]
        assert ours == ref, (name, ours, ref)
        assert ours[0] == "ok" and "Probe" not in ours[1] and "evil" not in ours[1], (name, ours)
    # Control: the same process without the variable is permissive and reaches the probe.
    out = _run_probe_subprocess(probe, strict=None)
    assert out["imported"] is True
    assert "construct" in probe.records() and "method" not in probe.records(), probe.records()


_OOM_SCRIPT = textwrap.dedent(
    """
    import resource, sys
    import fast_serde
    from fast_serde.langgraph import FastSerializer

    def vmsize():
        for line in open("/proc/self/status"):
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024

    big = b"x" * (300 << 20)
    limit = vmsize() + (200 << 20)  # room for the walk, not for a second copy of `big`
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    out = []
    for fn in (lambda: fast_serde.dumps([big]), lambda: FastSerializer().dumps_typed({"b": [big]})):
        try:
            fn()
            out.append("wrote")
        except MemoryError as exc:
            out.append("MemoryError" if "cannot grow the output" in str(exc) else repr(exc))
    out.append(str(fast_serde.dumps({"ok": [1, 2]}) == b"\\x81\\xa2ok\\x92\\x01\\x02"))
    print(" ".join(out))
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_an_output_that_cannot_grow_raises_memory_error():
    """Growing the output `bytes` past the address-space limit raises MemoryError (the walk
    unwinds, releasing what it holds) instead of aborting the process; the next call works."""
    proc = subprocess.run([sys.executable, "-c", _OOM_SCRIPT], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-500:]}"
    assert proc.stdout.split() == ["MemoryError", "MemoryError", "True"], proc.stdout + proc.stderr[-300:]


@pytest.mark.parametrize("code", [0, 1, 2, 3, 5])
def test_crafted_ext_payload_with_a_huge_array_does_not_crash(code):
    """ormsgpack < 1.13 (1.12.2 is Python 3.10's) segfaults on an array32 header whose length it
    cannot allocate, and JsonPlusSerializer with it on these 9 bytes; FastSerializer never hands a
    payload to ormsgpack (the native reader decodes every ext payload itself), so it survives on
    every Python."""
    data = bytes([0xC7, 6, code]) + b"\xdd\xff\xff\xff\xff\x01"
    script = (
        "from fast_serde.langgraph import FastSerializer\n"
        "try:\n"
        f"    FastSerializer().loads_typed(('msgpack', {data!r}))\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__)\n"
        "else:\n"
        "    print('value')\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-300:]}"
