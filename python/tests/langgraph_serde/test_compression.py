"""``FastSerializer(compression="zstd")``: the ``"msgpack-zstd"`` blobs, who reads them, and the
frames that are refused (fast_serde/langgraph/_compression.py, crates/fast-serde-core/src/
compress.rs).

The reference is the installed JsonPlusSerializer: the document inside every frame is its bytes,
and what a compressed blob reads back as is what it reads from its own blob.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import _with_msgpack_allowlist
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

import fast_serde
import lg_models as M
from fast_serde import _native
from fast_serde.langgraph import FastSerializer, _compression
from fast_serde.langgraph._install import install, uninstall
from fixtures.states import agent_state
from lg_strategies import assert_same

REPO_ROOT = Path(__file__).resolve().parents[3]
TAG = "msgpack-zstd"
MiB = 1024 * 1024


def _state() -> dict[str, Any]:
    return agent_state("30k")


# --- the format ----------------------------------------------------------------------------


def test_default_is_off_and_byte_identical():
    value = _state()
    assert FastSerializer().dumps_typed(value) == JsonPlusSerializer().dumps_typed(value)
    assert FastSerializer().compression is None


@pytest.mark.parametrize("size", ["5k", "30k", "200k"])
def test_the_frame_holds_the_parents_bytes_and_reads_back_as_the_parent_reads(size):
    value = agent_state(size)
    parent = JsonPlusSerializer()
    reference = parent.dumps_typed(value)
    tag, frame = FastSerializer(compression="zstd").dumps_typed(value)
    assert tag == TAG and "+" not in tag
    assert len(frame) < len(reference[1]) / (2 if size == "5k" else 3)
    assert _native.zstd_content_size(frame) == len(reference[1])
    assert _native.zstd_decompress(frame) == reference[1]
    for reader in (FastSerializer(), FastSerializer(compression="zstd")):
        assert_same(reader.loads_typed((tag, frame)), parent.loads_typed(reference))


def test_small_or_incompressible_documents_stay_msgpack():
    parent = JsonPlusSerializer()
    ser = FastSerializer(compression="zstd", compression_min_bytes=1024)
    small = {"step": 3, "messages": [HumanMessage("hi", id="1")]}
    assert ser.dumps_typed(small) == parent.dumps_typed(small)
    noise = os.urandom(4096)  # a bin of random bytes: zstd cannot make it smaller
    assert ser.dumps_typed({"blob": noise}) == parent.dumps_typed({"blob": noise})
    # The tags that are no MessagePack are the parent's.
    for value in (None, b"raw", bytearray(b"raw" * 1000)):
        assert ser.dumps_typed(value) == parent.dumps_typed(value)
    # min_bytes=0: everything that gets smaller is compressed.
    assert FastSerializer(compression="zstd", compression_min_bytes=0).dumps_typed(
        {"text": "abc" * 100}
    )[0] == TAG


def test_a_document_over_the_readers_limit_is_written_uncompressed():
    value = _state()
    plain = JsonPlusSerializer().dumps_typed(value)
    ser = FastSerializer(compression="zstd", max_decompressed_bytes=len(plain[1]) - 1)
    assert ser.dumps_typed(value) == plain
    assert FastSerializer(
        compression="zstd", max_decompressed_bytes=len(plain[1])
    ).dumps_typed(value)[0] == TAG


@pytest.mark.parametrize("level", [_native.ZSTD_MIN_LEVEL, -5, 1, 3, 19, _native.ZSTD_MAX_LEVEL])
def test_every_level_reads_back(level):
    value = _state()
    typed = FastSerializer(compression="zstd", compression_level=level).dumps_typed(value)
    # The fastest negative levels barely compress: then the blob stays the parent's.
    assert typed[0] == TAG or typed == JsonPlusSerializer().dumps_typed(value)
    assert typed[0] == TAG or level < 0
    assert_same(FastSerializer().loads_typed(typed), JsonPlusSerializer().loads_typed(
        JsonPlusSerializer().dumps_typed(value)))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"compression": "gzip"}, ValueError, "compression must be None or 'zstd'"),
        ({"compression": "zstd", "compression_level": 23}, ValueError, "compression_level must be in"),
        ({"compression": "zstd", "compression_level": 2.5}, TypeError, "must be an int"),
        ({"compression": "zstd", "compression_min_bytes": -1}, ValueError, ">= 0"),
        ({"max_decompressed_bytes": 0}, ValueError, ">= 1"),
        ({"max_decompressed_bytes": True}, TypeError, "must be an int"),
        ({"compression_level": 3}, ValueError, "need compression='zstd'"),
    ],
)
def test_invalid_settings_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        FastSerializer(**kwargs)


# --- who reads what -----------------------------------------------------------------------


def test_jsonplus_refuses_the_tag_loudly_where_msgpack_would_lose_data():
    tag, frame = FastSerializer(compression="zstd").dumps_typed(_state())
    with pytest.raises(NotImplementedError, match="Unknown serialization type: msgpack-zstd"):
        JsonPlusSerializer().loads_typed((tag, frame))
    # What a frame under the "msgpack" tag would be to the parent: its first byte (0x28), and
    # nothing else: the reason the tag is a new one.
    assert JsonPlusSerializer().loads_typed(("msgpack", frame)) == 40


def test_every_fast_serializer_reads_compressed_blobs():
    value = _state()
    expected = JsonPlusSerializer().loads_typed(JsonPlusSerializer().dumps_typed(value))
    typed = FastSerializer(compression="zstd").dumps_typed(value)
    readers = [
        FastSerializer(),
        FastSerializer(validate_models=False),
        FastSerializer(memo_bytes=0),
        FastSerializer(pickle_fallback=True),
        # A custom ext hook reads through the parent's code, after the frame is opened.
        FastSerializer(__unpack_ext_hook__=JsonPlusSerializer()._unpack_ext_hook),
    ]
    for reader in readers:
        assert_same(reader.loads_typed(typed), expected)


def test_a_fleet_turns_compression_on_and_off_one_worker_at_a_time():
    saver = InMemorySaver(serde=FastSerializer())
    old, new = FastSerializer(), FastSerializer(compression="zstd")
    blobs = [old.dumps_typed(_state()), new.dumps_typed(_state())]
    assert [t for t, _ in blobs] == ["msgpack", TAG]
    for reader in (old, new, saver.serde):
        assert_same(reader.loads_typed(blobs[0]), reader.loads_typed(blobs[1]))


def test_stats_count_compressed_reads_as_native():
    fast_serde.langgraph.reset_stats()
    typed = FastSerializer(compression="zstd").dumps_typed(_state())
    FastSerializer().loads_typed(typed)
    counters = fast_serde.langgraph.stats()
    assert (counters["dumps"], counters["loads"], counters["loads_fallback"]) == (1, 1, 0)


class XorCipher:
    """A deterministic CipherProtocol, so the ciphertexts can be compared byte for byte."""

    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        return "xor", bytes(b ^ 0x5A for b in plaintext)

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes:
        assert ciphername == "xor"
        return bytes(b ^ 0x5A for b in ciphertext)


def test_encrypted_serializer_compresses_then_encrypts():
    value = _state()
    expected = JsonPlusSerializer().loads_typed(JsonPlusSerializer().dumps_typed(value))
    enc = EncryptedSerializer(XorCipher(), serde=FastSerializer(compression="zstd"))
    tag, data = enc.dumps_typed(value)
    assert tag == "msgpack-zstd+xor"
    assert XorCipher().decrypt("xor", data) == FastSerializer(compression="zstd").dumps_typed(value)[1]
    # Read back by an encrypted reader that does not compress itself.
    reader = EncryptedSerializer(XorCipher(), serde=FastSerializer())
    assert_same(reader.loads_typed((tag, data)), expected)
    # The stock reader inside the same wrapper raises, it does not read garbage.
    with pytest.raises(NotImplementedError, match="msgpack-zstd"):
        EncryptedSerializer(XorCipher(), serde=JsonPlusSerializer()).loads_typed((tag, data))


def test_pycryptodome_aes_around_a_compressing_serializer():
    pytest.importorskip("Crypto.Cipher.AES")
    key = b"0123456789abcdef"
    value = _state()
    enc = EncryptedSerializer.from_pycryptodome_aes(serde=FastSerializer(compression="zstd"), key=key)
    typed = enc.dumps_typed(value)
    assert typed[0] == "msgpack-zstd+aes"
    reader = EncryptedSerializer.from_pycryptodome_aes(serde=FastSerializer(), key=key)
    assert_same(reader.loads_typed(typed), JsonPlusSerializer().loads_typed(
        JsonPlusSerializer().dumps_typed(value)))


def test_with_msgpack_allowlist_keeps_the_settings():
    ser = FastSerializer(
        compression="zstd", compression_level=7, compression_min_bytes=10,
        max_decompressed_bytes=10 * MiB, allowed_msgpack_modules=[("lg_models", "Profile")],
    )
    clone = ser.with_msgpack_allowlist([M.Address])
    assert clone is not ser
    assert (clone.compression, clone._zstd.level, clone._zstd.min_bytes, clone.max_decompressed_bytes) == (
        "zstd", 7, 10, 10 * MiB)
    # Through the helper the savers use too.
    wrapped = _with_msgpack_allowlist(ser, [M.Address])
    assert wrapped.compression == "zstd" and wrapped._zstd.level == 7
    encrypted = _with_msgpack_allowlist(EncryptedSerializer(XorCipher(), serde=ser), [M.Address])
    assert encrypted.serde is not ser and encrypted.serde._zstd.level == 7
    assert encrypted.dumps_typed(_state())[0] == "msgpack-zstd+xor"
    assert clone.dumps_typed(_state())[0] == TAG


def test_install_passes_the_settings_to_the_shared_serializer():
    uninstall()
    try:
        install(compression="zstd", compression_level=1, max_decompressed_bytes=64 * MiB)
        serde = InMemorySaver().serde
        assert isinstance(serde, FastSerializer)
        assert (serde.compression, serde._zstd.level, serde.max_decompressed_bytes) == ("zstd", 1, 64 * MiB)
        assert serde.dumps_typed(_state())[0] == TAG
    finally:
        uninstall()
    with pytest.raises(ValueError, match="compression must be"):
        install(compression="lz4")
    assert not isinstance(InMemorySaver().serde, FastSerializer)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", {}), ("zstd", {"compression": "zstd"}), (" ZSTD:1 ", {"compression": "zstd", "compression_level": 1}),
     ("zstd:-5", {"compression": "zstd", "compression_level": -5})],
)
def test_from_env(value, expected):
    assert _compression.from_env(value) == expected


@pytest.mark.parametrize("value", ["gzip", "zstd:x", "zstd:"])
def test_from_env_refuses(value):
    if value == "zstd:":
        assert _compression.from_env(value) == {"compression": "zstd"}
        return
    with pytest.raises(ValueError, match="FAST_SERDE_COMPRESSION"):
        _compression.from_env(value)


def _child(code: str, env_extra: dict[str, str]) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAST_SERDE_")}
    env.update(env_extra)
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=120, check=False, env=env, cwd=REPO_ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["stderr"] = proc.stderr
    return out


_INSTALLED = """
    import json, sqlite3
    from langgraph.checkpoint.sqlite import SqliteSaver
    serde = SqliteSaver(sqlite3.connect(":memory:")).serde
    print(json.dumps({"type": type(serde).__name__, "compression": getattr(serde, "compression", None),
                      "level": getattr(getattr(serde, "_zstd", None), "level", None),
                      "tag": serde.dumps_typed({"text": "abc" * 1000})[0]}))
"""


def test_fast_serde_install_reads_fast_serde_compression():
    out = _child(_INSTALLED, {"FAST_SERDE_INSTALL": "1", "FAST_SERDE_COMPRESSION": "zstd:1"})
    assert out["type"] == "FastSerializer"
    assert (out["compression"], out["level"], out["tag"]) == ("zstd", 1, TAG)
    assert out["stderr"] == ""
    out = _child(_INSTALLED, {"FAST_SERDE_INSTALL": "1"})
    assert (out["type"], out["compression"], out["tag"]) == ("FastSerializer", None, "msgpack")


def test_fast_serde_install_with_a_bad_compression_warns_and_keeps_langgraphs_serializer():
    out = _child(_INSTALLED, {"FAST_SERDE_INSTALL": "1", "FAST_SERDE_COMPRESSION": "brotli"})
    assert out["type"] == "JsonPlusSerializer" and out["tag"] == "msgpack"
    assert out["stderr"].count("RuntimeWarning") == 1 and "FAST_SERDE_COMPRESSION='brotli'" in out["stderr"]


# --- refused frames ------------------------------------------------------------------------


def reheader(frame: bytes, declared: int | None) -> bytes:
    """``frame`` (from zstd_compress) with its Frame_Content_Size replaced: 8 bytes declaring
    ``declared``, or no field at all for None (RFC 8878 section 3.1.1.1)."""
    fhd = frame[4]
    single = (fhd >> 5) & 1
    did_size = (0, 1, 2, 4)[fhd & 3]
    fcs_size = ((1 if single else 0), 2, 4, 8)[fhd >> 6]
    pos = 5 + (0 if single else 1) + did_size
    head, blocks = frame[5:pos], frame[pos + fcs_size:]
    if declared is None:
        assert not single, "a single-segment frame always declares its size"
        return frame[:4] + bytes([fhd & 0x3F]) + head + blocks
    return frame[:4] + bytes([(fhd & 0x3F) | 0xC0]) + head + declared.to_bytes(8, "little") + blocks


def zeros_frame(n: int) -> bytes:
    return _native.zstd_compress(fast_serde.dumps(bytes(n)), 3)


@pytest.fixture(scope="module")
def bombs() -> dict[str, tuple[bytes, int]]:
    """name -> (frame, max_decompressed_bytes): the frames that must be refused."""
    limit = 16 * MiB
    over = zeros_frame(limit + 1 - 5)  # a bin32 of zeros: limit + 1 bytes of MessagePack
    assert _native.zstd_content_size(over) == limit + 1 and len(over) <= 1024
    big_window = zeros_frame(3 * MiB)  # multi-segment: its Window_Descriptor stays valid
    assert not (big_window[4] >> 5) & 1
    good = _native.zstd_compress(fast_serde.dumps({"text": "abc" * 10_000}), 3)
    # 64 KiB that zstd cannot shrink (raw blocks): a frame long enough to declare 256 MiB.
    noise = _native.zstd_compress(fast_serde.dumps(random.Random(0).randbytes(64 * 1024)), 3)
    default = _compression.DEFAULT_MAX_DECOMPRESSED_BYTES
    flipped = bytearray(good)
    flipped[len(flipped) // 2] ^= 0xFF
    return {
        "declares 1 TiB": (reheader(good, 1 << 40), default),
        "1 KiB frame, limit + 1 bytes": (over, limit),
        "1 KiB frame lying about its size": (reheader(over, 1000), limit),
        "declares the limit, holds less": (reheader(noise, default), default),
        "no declared size": (reheader(big_window, None), limit),
        "truncated": (good[:-10], limit),
        "corrupt": (bytes(flipped), limit),
        "trailing bytes": (good + b"\x00", limit),
        "not a frame": (fast_serde.dumps({"a": 1}), limit),
    }


REASONS = {
    "declares 1 TiB": "over the limit",
    "1 KiB frame, limit + 1 bytes": "over the limit",
    "1 KiB frame lying about its size": "decompresses to more than the 1000 bytes it declares",
    # libzstd checks the size it decoded against the header itself (corruption_detected).
    "declares the limit, holds less": f"not to the {_compression.DEFAULT_MAX_DECOMPRESSED_BYTES} bytes",
    "no declared size": "without a declared content size",
    "truncated": "truncated zstd frame",
    "corrupt": "corrupt zstd frame",
    "trailing bytes": "trailing bytes after the zstd frame",
    "not a frame": "not a zstd frame",
}


@pytest.mark.parametrize("name", list(REASONS))
def test_refused_frames_are_decode_errors_naming_why(bombs, name):
    frame, limit = bombs[name]
    ser = FastSerializer(max_decompressed_bytes=limit)
    with pytest.raises(fast_serde.DecodeError, match=REASONS[name]) as info:
        ser.loads_typed((TAG, frame))
    assert 0 <= info.value.offset <= len(frame)
    assert isinstance(info.value, ValueError)


def test_a_frame_at_the_limit_is_read():
    doc = fast_serde.dumps(bytes(3 * MiB))
    frame = _native.zstd_compress(doc, 3)
    assert FastSerializer(max_decompressed_bytes=len(doc)).loads_typed((TAG, frame)) == bytes(3 * MiB)
    with pytest.raises(fast_serde.DecodeError, match="over the limit"):
        FastSerializer(max_decompressed_bytes=len(doc) - 1).loads_typed((TAG, frame))


_PEAK = """
    import json, pickle, resource, sys
    import fast_serde
    from fast_serde.langgraph import FastSerializer
    bombs = pickle.load(open(sys.argv[1], "rb"))
    FastSerializer().loads_typed(("msgpack-zstd", __import__("fast_serde._native").
                                 _native.zstd_compress(fast_serde.dumps([1] * 1000), 3)))  # warm up
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    refused = {}
    for name, (frame, limit) in bombs.items():
        try:
            FastSerializer(max_decompressed_bytes=limit).loads_typed(("msgpack-zstd", frame))
        except fast_serde.DecodeError as exc:
            refused[name] = str(exc)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"grew_kib": after - before, "refused": refused}))
"""


def test_bombs_are_refused_with_peak_memory_bounded(bombs, tmp_path):
    # In a fresh process: ru_maxrss (KiB on Linux) is the high-water mark of resident memory.
    path = tmp_path / "bombs.pickle"
    path.write_bytes(pickle.dumps(bombs))
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_PEAK), str(path)],
        capture_output=True, text=True, timeout=120, check=False, cwd=REPO_ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert sorted(out["refused"]) == sorted(bombs)
    # Generous: the limits in play are 16 MiB and 256 MiB, and 1 TiB declared; nothing of
    # that may become resident (measured: well under 1 MiB).
    print("bomb cases: peak RSS grew by", out["grew_kib"], "KiB")
    assert out["grew_kib"] < 8 * 1024, out


# --- the GIL --------------------------------------------------------------------------------


def _released_during(call, tries: int) -> bool:
    """Whether another thread ran while ``call()`` was inside native code. The switch interval
    is made huge, so this thread gives the GIL up only where native code releases it: the
    waiting thread, once woken, can take the GIL only inside a ``call()``, and sees
    ``state == "inside"`` exactly when one released it. ``call()`` is repeated (up to ``tries``
    times) until the waiter has run, so a waiter the OS is slow to schedule on a busy machine
    delays the answer but does not change it."""
    state = {"now": "before"}
    seen = []
    go = threading.Event()

    def waiter():
        go.wait()
        seen.append(state["now"])

    old = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        thread = threading.Thread(target=waiter)
        thread.start()
        go.set()  # the waiter now wants the GIL back, which this thread keeps
        state["now"] = "inside"
        for _ in range(tries):
            call()
            if seen:
                break
        state["now"] = "after"
        thread.join()
    finally:
        sys.setswitchinterval(old)
    return seen == ["inside"]


def test_the_gil_is_released_while_compressing_and_decompressing():
    # About 4 MB of MessagePack.
    doc = b"".join(FastSerializer().dumps_typed(agent_state("200k", seed=i))[1] for i in range(20))
    frame = _native.zstd_compress(doc, 3)
    assert _released_during(lambda: _native.zstd_compress(doc, 3), tries=2000)
    assert _released_during(lambda: _native.zstd_decompress(frame), tries=2000)


def test_the_gil_check_can_fail():
    # The same check around a call that keeps the GIL (a long C call: sorted on a big list).
    data = list(range(2_000_000, 0, -1))
    assert not _released_during(lambda: sorted(data), tries=3)
