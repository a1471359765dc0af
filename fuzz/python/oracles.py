"""Oracles of the Python-API fuzz target, shared by the atheris driver (``fuzz_api.py``) and the
hypothesis tests (``python/tests/robustness/test_fuzz.py``).

Each ``check_*`` takes fuzzer bytes and raises ``Finding`` (an AssertionError) when the
contract is broken; anything else it raises is a finding too. Contract checked:

* ``fast_serde.loads(data)`` returns a value or raises ``DecodeError`` (a ``ValueError``) whose
  ``.offset`` is within the input and named in the message. When msgpack-python reads ``data``
  (``strict_map_key=False``, ext as ``fast_serde.Ext``, timestamps as datetimes) fast_serde reads
  the same value, except where the contract is deliberately stricter (nesting past
  ``MAX_DEPTH``).
* ``FastSerializer(allowed_msgpack_modules=None).loads_typed(("msgpack", data))`` returns a value
  or raises ``DecodeError``; when the stock ``JsonPlusSerializer`` with the same allowlist reads
  ``data`` without raising, FastSerializer reads an equal value, or raises ``DecodeError`` for
  trailing bytes (the parent ignores them; fast-serde refuses them on purpose).
* ``FastSerializer.loads_typed(("msgpack-zstd", data))`` returns a value or raises
  ``DecodeError`` (``data`` taken as a zstd frame, or a frame of ``data`` with one byte
  changed); ``data`` compressed by ``zstd_compress`` reads under that tag exactly as
  ``("msgpack", data)`` reads (the same value, or the same error).
* Whatever either reads, writing it back is byte-identical between the two: ``fast_serde.dumps``
  vs ``ormsgpack.packb`` (``OPT_NON_STR_KEYS | OPT_REPLACE_SURROGATES``) and
  ``FastSerializer.dumps_typed`` vs ``JsonPlusSerializer.dumps_typed``; both raise or neither.
* ``build_value(data)`` turns fuzzer bytes into a plain Python value (ints past 64 bits, lone
  surrogates, NaN, nested containers, tuple and bytes keys, ``Ext``) for the same ``dumps``
  comparison and a ``loads`` round trip.

Only the strict allowlist is fuzzed: in the permissive default mode JsonPlusSerializer (and so
FastSerializer) imports and calls whatever module and name the input spells.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import msgpack
import ormsgpack

import fast_serde
from fast_serde import DecodeError, EncodeError, Ext, _native
from fast_serde.langgraph import FastSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

ORMSGPACK_OPT = ormsgpack.OPT_NON_STR_KEYS | ormsgpack.OPT_REPLACE_SURROGATES

FAST = FastSerializer(allowed_msgpack_modules=None)
PARENT = JsonPlusSerializer(allowed_msgpack_modules=None)


class Finding(AssertionError):
    """A broken contract, with the input that broke it."""


def _fail(what: str, data: Any, detail: str = "") -> None:
    raise Finding(f"{what}: input={data!r:.300}{' - ' + detail if detail else ''}")


# ---------------------------------------------------------------------------
# Equality that tolerates NaN and compares types, for decoded values.
# ---------------------------------------------------------------------------


def _same_leaf(a: Any, b: Any) -> bool:
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    try:
        import numpy as np

        if isinstance(a, np.ndarray):
            return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    except ImportError:  # pragma: no cover
        pass
    try:
        eq = a == b
        if eq is NotImplemented:
            raise TypeError
        return bool(eq) or repr(a) == repr(b)
    except Exception:
        return repr(a) == repr(b)


def same(a: Any, b: Any) -> bool:
    """Deep, type-strict, NaN-aware equality; iterative (decoded values nest thousands deep)."""
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
            if len(x) != len(y):
                return False
            for (kx, vx), (ky, vy) in zip(x.items(), y.items()):
                stack.append((kx, ky))
                stack.append((vx, vy))
        elif not _same_leaf(x, y):
            return False
    return True


# ---------------------------------------------------------------------------
# Decoders
# ---------------------------------------------------------------------------


def _expect_decode_error(exc: BaseException, data: bytes, what: str, size: int | None = None) -> None:
    """``exc`` must be a DecodeError whose offset lies within ``size`` bytes (default: the
    input's length)."""
    if not isinstance(exc, DecodeError):
        _fail(f"{what} raised {type(exc).__name__}: {exc}", data)
    if not isinstance(exc, ValueError):
        _fail(f"{what}: DecodeError is not a ValueError", data)
    off = getattr(exc, "offset", None)
    if not isinstance(off, int) or not 0 <= off <= (len(data) if size is None else size):
        _fail(f"{what}: bad DecodeError.offset {off!r}", data, str(exc))
    if f"at byte {off}" not in str(exc):
        _fail(f"{what}: offset {off} not named in the message", data, str(exc))


def _msgpack_reference(data: bytes) -> Any:
    return msgpack.unpackb(data, strict_map_key=False, ext_hook=Ext, timestamp=3, raw=False)


def check_loads(data: bytes) -> Any:
    """``fast_serde.loads`` against the contract and msgpack-python. Returns the value or None."""
    try:
        ours = fast_serde.loads(data)
    except Exception as exc:  # noqa: BLE001 - any other type is the finding
        _expect_decode_error(exc, data, "loads")
        ours_err: BaseException | None = exc
        ours = None
    else:
        ours_err = None
    try:
        ref = _msgpack_reference(data)
    except Exception:
        return ours
    if ours_err is not None:
        if "nesting deeper" in str(ours_err):
            return None  # deliberate: MAX_DEPTH is 255, msgpack-python allows more
        _fail("loads refused what msgpack-python reads", data, f"{ours_err}; msgpack read {ref!r:.200}")
    if not same(ours, ref):
        _fail("loads and msgpack-python read different values", data, f"{ours!r:.200} vs {ref!r:.200}")
    return ours


def _ormsgpack_version() -> tuple[int, ...]:
    from importlib.metadata import version

    return tuple(int(p) for p in version("ormsgpack").split(".")[:2] if p.isdigit())


# ormsgpack before 1.13 (1.12.2 is the last release for Python 3.10) segfaults in `unpackb` on an
# array32 header whose declared length cannot be allocated (`PyList_New` fails, e.g.
# b"\xdd\xff\xff\xff\xff\x01"): JsonPlusSerializer reads every payload with it. Such an input
# cannot be compared without killing the process, so check_loads_typed leaves it out, and counts
# it: REFERENCE_CRASH_SKIPS (printed by fuzz_api.py; test_fuzz.py asserts the guard).
# langgraph_serde/test_property.py's mutated-bytes property test leaves it out too.
ORMSGPACK_CRASHES_ON_HUGE_ARRAYS = _ormsgpack_version() < (1, 13)
REFERENCE_CRASH_SKIPS = 0


# Bytes after a marker: fixed-size values, and the length field of str/bin/ext/array/map.
_FIXED = {0xCA: 4, 0xCB: 8, 0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8, 0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8}
_FIXEXT = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}
_LEN = {0xC4: 1, 0xC5: 2, 0xC6: 4, 0xD9: 1, 0xDA: 2, 0xDB: 4, 0xC7: 1, 0xC8: 2, 0xC9: 4,
        0xDC: 2, 0xDD: 4, 0xDE: 2, 0xDF: 4}


def _huge_array_on_the_way(data: bytes, depth: int = 0) -> bool:
    """Whether reading one value from ``data`` in order, as ormsgpack does, meets an array32
    header declaring more elements than there are bytes left, before the input ends or turns
    malformed. Ext payloads are read as documents of their own, as the parent's ext hook does."""
    pos, end, pending = 0, len(data), 1
    while pending and pos < end:
        b = data[pos]
        pos += 1
        pending -= 1
        if b <= 0x7F or b >= 0xE0 or b in (0xC0, 0xC2, 0xC3):
            continue
        if b <= 0x8F:
            pending += 2 * (b & 0x0F)
        elif b <= 0x9F:
            pending += b & 0x0F
        elif b <= 0xBF:
            pos += b & 0x1F
        elif b in _FIXED:
            pos += _FIXED[b]
        elif b in _FIXEXT or b in (0xC7, 0xC8, 0xC9):
            if b in _FIXEXT:
                size = _FIXEXT[b]
            else:
                w = _LEN[b]
                if pos + w > end:
                    return False
                size = int.from_bytes(data[pos : pos + w], "big")
                pos += w
            payload = data[pos + 1 : pos + 1 + size]
            if len(payload) < size:
                return False
            if depth < 100 and _huge_array_on_the_way(payload, depth + 1):
                return True
            pos += 1 + size
        elif b in _LEN:
            w = _LEN[b]
            if pos + w > end:
                return False
            n = int.from_bytes(data[pos : pos + w], "big")
            pos += w
            if b in (0xC4, 0xC5, 0xC6, 0xD9, 0xDA, 0xDB):
                pos += n
            elif b == 0xDD and n > end - pos:
                return True
            else:
                pending += n if b in (0xDC, 0xDD) else 2 * n
        else:  # 0xC1: never used, the reader stops here
            return False
    return False


def reference_would_crash(data: bytes) -> bool:
    """Whether the installed ormsgpack may crash on ``data``: before 1.13, when reading it meets
    an array32 header declaring more elements than there are bytes left (a real array needs at
    least one byte per element, so such an input is malformed anyway)."""
    return ORMSGPACK_CRASHES_ON_HUGE_ARRAYS and _huge_array_on_the_way(data)


def check_loads_typed(data: bytes) -> Any:
    """FastSerializer vs JsonPlusSerializer (strict allowlist) on ``("msgpack", data)``."""
    global REFERENCE_CRASH_SKIPS
    if reference_would_crash(data):
        REFERENCE_CRASH_SKIPS += 1
        return None
    try:
        ours = FAST.loads_typed(("msgpack", data))
    except Exception as exc:  # noqa: BLE001
        _expect_decode_error(exc, data, "FastSerializer.loads_typed")
        ours_err: BaseException | None = exc
        ours = None
    else:
        ours_err = None
    try:
        ref = PARENT.loads_typed(("msgpack", data))
    except Exception:
        return ours
    if ours_err is not None:
        if "trailing bytes" in str(ours_err):
            return None  # deliberate: the parent ignores trailing bytes
        _fail("FastSerializer refused what JsonPlusSerializer reads", data, f"{ours_err}; parent read {ref!r:.200}")
    if not same(ours, ref):
        _fail("FastSerializer and JsonPlusSerializer read different values", data, f"{ours!r:.200} vs {ref!r:.200}")
    return ours


# ---------------------------------------------------------------------------
# Encoders
# ---------------------------------------------------------------------------


def _to_ormsgpack(v: Any, depth: int = 0) -> Any:
    if depth > 300:
        return v  # past MAX_DEPTH: both refuse it, whatever is inside
    if isinstance(v, Ext):
        return ormsgpack.Ext(v.code, bytes(v.data))
    if type(v) is list:
        return [_to_ormsgpack(x, depth + 1) for x in v]
    if type(v) is tuple:
        return tuple(_to_ormsgpack(x, depth + 1) for x in v)
    if type(v) is dict:
        return {k: _to_ormsgpack(x, depth + 1) for k, x in v.items()}
    return v


_CONTRACT_SCALARS = (type(None), bool, int, float, str, bytes, bytearray)


def _comparable(v: Any) -> bool:
    """Only the types of the dumps contract (ormsgpack writes more, e.g. datetime, which
    fast_serde.dumps leaves to ``default``), and Ext codes ormsgpack.Ext accepts (0..127)."""
    stack = [v]
    while stack:
        x = stack.pop()
        if isinstance(x, Ext):
            if not 0 <= x.code <= 127:
                return False
        elif type(x) in (list, tuple):
            stack.extend(x)
        elif type(x) is dict:
            stack.extend(x.keys())
            stack.extend(x.values())
        elif type(x) not in _CONTRACT_SCALARS:
            return False
    return True


def check_dumps(value: Any) -> None:
    """``fast_serde.dumps`` vs ``ormsgpack.packb``; a written value reads back equal."""
    try:
        ours: bytes | None = fast_serde.dumps(value)
        ours_err: BaseException | None = None
    except Exception as exc:  # noqa: BLE001
        if not isinstance(exc, EncodeError):
            _fail(f"dumps raised {type(exc).__name__}: {exc}", value)
        if "$" not in str(exc):
            _fail("EncodeError without a path", value, str(exc))
        ours, ours_err = None, exc
    if not _comparable(value):
        ref = None
    else:
        try:
            ref = ormsgpack.packb(_to_ormsgpack(value), option=ORMSGPACK_OPT)
        except Exception:
            ref = None
        if ref is not None and ours_err is not None and "nesting deeper" not in str(ours_err):
            _fail("dumps refused what ormsgpack writes", value, str(ours_err))
        if ref is not None and ours is not None and ours != ref:
            _fail("dumps and ormsgpack wrote different bytes", value, f"{ours!r:.200} vs {ref!r:.200}")
    if ours is not None:
        try:
            # ext_hook=Ext keeps every ext (the timestamp -1 included, which plain loads turns
            # into a datetime that plain dumps does not write) as the Ext it was built from.
            back = fast_serde.loads(ours, ext_hook=Ext)
        except Exception as exc:  # noqa: BLE001
            _fail(f"loads(dumps(v)) raised {type(exc).__name__}: {exc}", value)
        again = fast_serde.dumps(back)
        if again != ours:
            _fail("dumps(loads(dumps(v))) != dumps(v)", value)


def check_dumps_typed(value: Any) -> None:
    """FastSerializer.dumps_typed vs JsonPlusSerializer.dumps_typed: same bytes, or both raise."""
    try:
        ours = FAST.dumps_typed(value)
        ours_err: BaseException | None = None
    except Exception as exc:  # noqa: BLE001
        if not isinstance(exc, EncodeError):
            ours_err = exc
        else:
            if "$" not in str(exc):
                _fail("EncodeError without a path", value, str(exc))
            ours_err = exc
        ours = None
    try:
        ref = PARENT.dumps_typed(value)
    except Exception:
        return
    if ours_err is not None:
        if "nesting deeper" in str(ours_err) or "circular" in str(ours_err):
            return
        _fail(f"FastSerializer.dumps_typed refused what the parent writes ({type(ours_err).__name__})", value, str(ours_err))
    if ours != ref:
        _fail("dumps_typed bytes differ from JsonPlusSerializer's", value, f"{ours!r:.200} vs {ref!r:.200}")
    FAST.loads_typed(ours)  # what it wrote, it reads


# ---------------------------------------------------------------------------
# A plain value from bytes (for the encoder)
# ---------------------------------------------------------------------------


class _Bytes:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        b = self.data[self.pos]
        self.pos += 1
        return b

    def take(self, n: int) -> bytes:
        s = self.data[self.pos : self.pos + n]
        self.pos += n
        return s

    def int_(self, nbytes: int, signed: bool) -> int:
        return int.from_bytes(self.take(nbytes).ljust(nbytes, b"\0"), "big", signed=signed)


_SPECIAL_INTS = (0, 127, 128, 255, 256, 2**16, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1, 2**64, -1, -32, -33, -(2**63), -(2**63) - 1, 2**100, -(2**100))
_SPECIAL_FLOATS = (0.0, -0.0, math.nan, math.inf, -math.inf, 1e308, 5e-324)
_TEXTS = ("", "a", "é€😀", "\ud800", "x\udfffy", "\x00", "k" * 40)


def build_value(data: bytes, _src: _Bytes | None = None, depth: int = 0) -> Any:
    src = _src or _Bytes(data)
    kind = src.byte() % (16 if depth < 40 else 9)
    n = src.byte() % 6
    if kind == 0:
        return None
    if kind == 1:
        return bool(n & 1)
    if kind == 2:
        return _SPECIAL_INTS[src.byte() % len(_SPECIAL_INTS)]
    if kind == 3:
        return src.int_(1 + n, signed=bool(src.byte() & 1))
    if kind == 4:
        return _SPECIAL_FLOATS[src.byte() % len(_SPECIAL_FLOATS)]
    if kind == 5:
        return struct.unpack(">d", src.take(8).ljust(8, b"\0"))[0]
    if kind == 6:
        return src.take(n * 3).decode("latin-1")
    if kind == 7:
        return _TEXTS[src.byte() % len(_TEXTS)] * (1 + n)
    if kind == 8:
        return src.take(n * 5)
    if kind == 9:
        return Ext(src.byte() % 256 - 128 if n == 5 else src.byte() % 128, src.take(n * 4))
    if kind == 10:
        return bytearray(src.take(n))
    if kind in (11, 12):
        return [build_value(data, src, depth + 1) for _ in range(n)]
    if kind == 13:
        return tuple(build_value(data, src, depth + 1) for _ in range(n))
    if kind == 14:
        # Deep nesting around a small value: past MAX_DEPTH now and then.
        v: Any = build_value(data, src, depth + 1)
        for _ in range(src.byte() + (src.byte() & 0x3F)):
            v = [v]
        return v
    out: dict[Any, Any] = {}
    for _ in range(n):
        kk = src.byte() % 6
        if kk == 0:
            key: Any = _TEXTS[src.byte() % len(_TEXTS)]
        elif kk == 1:
            key = _SPECIAL_INTS[src.byte() % len(_SPECIAL_INTS)]
        elif kk == 2:
            key = src.take(2)
        elif kk == 3:
            key = (src.byte(), _TEXTS[src.byte() % len(_TEXTS)])
        elif kk == 4:
            key = None if src.byte() & 1 else 1.5
        else:
            key = src.take(3).decode("latin-1")
        out[key] = build_value(data, src, depth + 1)
    return out


def frame_size(data: bytes) -> int:
    """How far a ``DecodeError.offset`` may reach for ``("msgpack-zstd", data)``: the input, or
    the MessagePack document inside the frame (an error in the document counts its bytes)."""
    try:
        declared = _native.zstd_content_size(data)
    except DecodeError:
        declared = None
    return max(len(data), declared or 0)


def _outcome(tag: str, data: bytes) -> tuple[bool, Any]:
    try:
        return True, FAST.loads_typed((tag, data))
    except Exception as exc:  # noqa: BLE001
        size = frame_size(data) if tag == "msgpack-zstd" else None
        _expect_decode_error(exc, data, f"FastSerializer.loads_typed({tag!r})", size)
        return False, str(exc)


def check_loads_zstd(data: bytes) -> None:
    """``"msgpack-zstd"`` blobs: ``data`` as a frame, ``data`` compressed, and that frame with
    one byte changed (chosen by ``data``, so a run is reproducible)."""
    global REFERENCE_CRASH_SKIPS
    if reference_would_crash(data):
        REFERENCE_CRASH_SKIPS += 1
        return
    _outcome("msgpack-zstd", data)
    frame = _native.zstd_compress(data, 1)
    plain, packed = _outcome("msgpack", data), _outcome("msgpack-zstd", frame)
    if plain[0] != packed[0] or not (same(plain[1], packed[1]) if plain[0] else plain[1] == packed[1]):
        _fail("a compressed document read otherwise than the document", data, f"{plain!r:.200} vs {packed!r:.200}")
    if data:
        changed = bytearray(frame)
        changed[data[0] % len(changed)] ^= 1 + (data[-1] % 255)
        _outcome("msgpack-zstd", bytes(changed))


def check_all(data: bytes) -> None:
    """Every oracle on one input (what the atheris target runs)."""
    check_loads_zstd(data)
    v = check_loads(data)
    if v is not None:
        check_dumps(v)
    lg = check_loads_typed(data)
    if lg is not None:
        check_dumps_typed(lg)
    built = build_value(data)
    check_dumps(built)
    check_dumps_typed(built)
