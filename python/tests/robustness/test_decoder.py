"""Decoder: truncation, wrong markers, huge lengths, UTF-8, ext payloads, depth, trailing bytes.

Every malformed input ends in ``DecodeError`` (a ``ValueError`` with ``.offset``), for
``fast_serde.loads`` and ``FastSerializer.loads_typed``; where the stock ``JsonPlusSerializer``
reads an input without raising, ``FastSerializer`` reads the same value (trailing bytes aside:
the parent ignores them, fast-serde refuses them on purpose)."""

from __future__ import annotations

import gc
import resource
import struct
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import ormsgpack
import pytest

import fast_serde
from fast_serde import MAX_DEPTH, Ext
from robustness_helpers import (
    _UUID_HEX,
    BLOBS,
    CORPUS,
    DECODERS,
    FAST,
    FAST_STRICT,
    PARENT,
    PARENT_STRICT,
    REAL,
    REPO_ROOT,
    _decode_with_events,
    _outcome,
    assert_decode_error,
    decode_error,
    ext,
    ext_header,
    lg_loads,
    packb,
    same,
    value_offsets,
)


def test_corpus_is_present():
    assert len(CORPUS) >= 30, "fixtures/fuzz_corpus is missing: run fixtures/fuzz_corpus/make_corpus.py"
    assert sum(k.startswith("lg_run_") for k in BLOBS) >= 8


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
    from robustness_helpers import FAST, FAST_STRICT
    from test_decoder import _ext_chain

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
