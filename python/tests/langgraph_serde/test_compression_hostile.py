"""Hostile and careless inputs to ``compression="zstd"`` that the first pass missed (red-team
pass over issue 22): what ``loads_typed`` does with a ``"msgpack-zstd"`` blob that is no buffer,
and read limits beyond what a frame header can declare.

The reference is the installed JsonPlusSerializer: a ``"msgpack-zstd"`` blob's data is checked
as its ``"msgpack"`` data is (ormsgpack's input check, the same exceptions and messages).
"""

from __future__ import annotations

import array
import json
import pickle
import subprocess
import sys
import textwrap

import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

import fast_serde
from fast_serde import _native
from fast_serde.langgraph import FastSerializer, _compression

TAG = "msgpack-zstd"


def _frame() -> bytes:
    return _native.zstd_compress(fast_serde.dumps({"text": "abc" * 1000}), 3)


def _strided() -> memoryview:
    return memoryview(_frame())[::2]


def _released() -> memoryview:
    view = memoryview(_frame())
    view.release()
    return view


class BytesSub(bytes):
    pass


# Inputs that are no bytes, bytearray or C-contiguous memoryview. An int used to reach
# `bytes(n)`: n zero bytes allocated (2**62: a MemoryError; 10**10 would be 10 GB).
NOT_BUFFERS = {
    "small int": lambda: 64,
    "huge int": lambda: 2**62,
    "str": lambda: "(\xb5/\xfd",
    "None": lambda: None,
    "list of ints": lambda: list(_frame()),
    "bytes subclass": lambda: BytesSub(_frame()),
    "array.array": lambda: array.array("B", _frame()),
    "strided memoryview": _strided,
    "released memoryview": _released,
}


def _outcome(call):
    try:
        return "returned", call()
    except Exception as exc:  # the exception's type and message are compared
        return type(exc), str(exc)


# ormsgpack 1.12 (the last release for Python 3.10) reads a released memoryview's stale
# pointer; 1.13 refuses it with the C-contiguity message, which FastSerializer gives everywhere.
_OLD_ORMSGPACK = tuple(int(p) for p in __import__("ormsgpack").__version__.split(".")[:2]) < (1, 13)
_RELEASED_REFUSAL = (ValueError, "Input type memoryview must be a C contiguous buffer")


@pytest.mark.parametrize("name", list(NOT_BUFFERS))
def test_a_compressed_blob_that_is_no_buffer_is_refused_as_msgpack_data_is(name):
    make = NOT_BUFFERS[name]
    if name == "released memoryview" and _OLD_ORMSGPACK:
        expected = _RELEASED_REFUSAL  # the parent's own read here is undefined behaviour
    else:
        expected = _outcome(lambda: JsonPlusSerializer().loads_typed(("msgpack", make())))
    assert expected[0] is ValueError  # ormsgpack's input check
    assert _outcome(lambda: FastSerializer().loads_typed((TAG, make()))) == expected


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_a_compressed_blob_is_read_from_every_buffer_msgpack_data_may_be(kind):
    frame = _frame()
    expected = FastSerializer().loads_typed((TAG, frame))
    assert FastSerializer().loads_typed((TAG, kind(frame))) == expected


# --- read limits beyond what a frame can declare ------------------------------------------


@pytest.mark.parametrize("limit", [2**64 - 1, 2**64, 2**100])
def test_a_limit_over_what_a_header_can_declare_reads_as_no_limit(limit):
    # Frame_Content_Size is at most 8 bytes (RFC 8878 section 3.1.1.1.4): no frame declares
    # more than 2**64 - 1, so a larger limit refuses nothing more. It used to be accepted by the
    # constructor and then make every compressed read raise OverflowError.
    value = {"text": "abc" * 1000}
    typed = FastSerializer(compression="zstd").dumps_typed(value)
    assert typed[0] == TAG
    expected = JsonPlusSerializer().loads_typed(JsonPlusSerializer().dumps_typed(value))
    ser = FastSerializer(compression="zstd", max_decompressed_bytes=limit)
    assert ser.max_decompressed_bytes == limit
    assert ser.loads_typed(typed) == expected
    assert ser.loads_typed(ser.dumps_typed(value)) == expected


# --- FAST_SERDE_COMPRESSION -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["zstd:--5", "zstd:-", "zstd:\u00b2", "zstd:\u0663", "zstd:1 2"])
def test_from_env_names_the_variable_for_every_level_it_cannot_read(value):
    # A level of more than one minus sign, a superscript or non-ASCII digit used to reach int()
    # (its bare "invalid literal" message, or a level read from an Arabic-Indic digit).
    with pytest.raises(ValueError, match="FAST_SERDE_COMPRESSION=.* is not 'zstd' or 'zstd:LEVEL'"):
        _compression.from_env(value)


# --- peak memory of a frame that is read --------------------------------------------------

_PEAK_READ = """
    import json, sys
    from fast_serde import _native

    def hwm_kib():  # the high-water mark of resident memory (Linux /proc)
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))

    frame = open(sys.argv[1], "rb").read()
    before = hwm_kib()
    content = _native.zstd_decompress(frame, 1 << 30)
    print(json.dumps({"grew_kib": hwm_kib() - before, "content": len(content)}))
"""


def test_a_frame_is_decompressed_into_the_bytes_returned_not_copied(tmp_path):
    # 6 KiB of RLE blocks declaring 128 MiB: within the limit, so it is read. The content used to
    # be decompressed into a buffer of its own and then copied into the `bytes`: twice the
    # declared size resident at the peak, for a blob 20000 times smaller.
    size = 128 * 1024 * 1024
    frame = _native.zstd_compress(bytes(size), 19)
    assert len(frame) < 8 * 1024
    path = tmp_path / "frame.zst"
    path.write_bytes(frame)
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_PEAK_READ), str(path)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["content"] == size
    print("128 MiB frame read: peak RSS grew by", out["grew_kib"] // 1024, "MiB")
    assert out["grew_kib"] < 1.25 * size / 1024, out


# --- pickle -------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_a_compressing_serializer_pickles_where_jsonplus_does(protocol):
    # FastSerializer pickles exactly when a JsonPlusSerializer of the same arguments does; its
    # compression settings (a __slots__ class) refused protocols 0 and 1.
    from langgraph.checkpoint.serde.jsonplus import _msgpack_ext_hook_to_json as hook

    pickle.loads(pickle.dumps(JsonPlusSerializer(__unpack_ext_hook__=hook), protocol=protocol))
    ser = FastSerializer(
        __unpack_ext_hook__=hook, compression="zstd", compression_level=7,
        compression_min_bytes=5, max_decompressed_bytes=10**6,
    )
    copy = pickle.loads(pickle.dumps(ser, protocol=protocol))
    assert repr(copy._zstd) == repr(ser._zstd) == "Zstd(level=7, min_bytes=5, max_bytes=1000000)"
    value = {"text": "abc" * 100}
    assert copy.dumps_typed(value) == ser.dumps_typed(value)
    assert copy.loads_typed(ser.dumps_typed(value)) == ser.loads_typed(ser.dumps_typed(value))
