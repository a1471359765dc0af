"""Type stubs of ``fast_serde._native``, the Rust extension (crates/fast-serde-py over
crates/fast-serde-core). Keep in step with the ``#[pyfunction]``/``#[pymethods]`` signatures."""

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, TypeAlias

_Buffer: TypeAlias = bytes | bytearray | memoryview

__all__ = [
    "dumps", "loads", "instance_dict", "generic_getattr", "LangGraphCodec", "EncodeError", "DecodeError", "MAX_DEPTH", "MAX_TOTAL_DEPTH",
    "PLAN_KINDS", "PLAN_FLAGS", "EXT_CODES", "RESOLVED_CACHE", "RESOLVED_ONCE", "RESOLVED_BLOCKED", "RESOLVED_FIXED",
    "DEFAULT_MEMO_BYTES", "CPYTHON_LAYOUT",
    "zstd_compress", "zstd_decompress", "zstd_content_size", "ZSTD_DEFAULT_LEVEL", "ZSTD_MIN_LEVEL", "ZSTD_MAX_LEVEL",
    "ZSTD_DEFAULT_MAX_SIZE", "ZSTD_MAX_RATIO", "ZSTD_VERSION",
    "TypedBinding", "PlanSpec", "typed_count", "typed_counts", "typed_time", "typed_timing",
    "watch", "watch_stats",
]

MAX_DEPTH: Final[int]
MAX_TOTAL_DEPTH: Final[int]
"""Deepest nesting of containers (arrays, maps, ext payloads) written or read (255)."""

PLAN_KINDS: Final[dict[str, int]]
"""The walker's plan kinds by name (``FALLBACK``, ``PYDANTIC_V2``, ...): the values of the Rust
``PlanKind`` enum, which ``fast_serde.langgraph._plans.encode_plan`` answers."""
PLAN_FLAGS: Final[dict[str, int]]
"""The plan flags by name (``CHECK_INSTANCE``, ``ONCE``)."""
EXT_CODES: Final[dict[str, int]]
"""JsonPlusSerializer's ext codes by name, without the ``EXT_`` prefix (``PYDANTIC_V2``: 5)."""
RESOLVED_CACHE: Final[int]
"""``resolve`` answer: allowed, and the class may be cached."""
RESOLVED_ONCE: Final[int]
"""``resolve`` answer: allowed, ask again next time."""
RESOLVED_BLOCKED: Final[int]
"""``resolve`` answer: blocked or not importable (the payload is returned)."""
RESOLVED_FIXED: Final[int]
"""``resolve`` answer: allowed and cacheable, a constructor that is no module attribute."""
DEFAULT_MEMO_BYTES: Final[int]
"""The default budget of a codec's memo of validated models (64 MiB)."""
CPYTHON_LAYOUT: Final[bool]
"""True when this build reads CPython's private str and dict layouts in place (the compact-ASCII
str read and the dict-table read: CPython 3.11-3.15 with the GIL, checked when the module loads);
False where it calls ``PyUnicode_AsUTF8AndSize`` and ``PyDict_Next`` (3.10, free-threaded)."""

ZSTD_DEFAULT_LEVEL: Final[int]
"""The compression level used by default (1)."""
ZSTD_MIN_LEVEL: Final[int]
ZSTD_MAX_LEVEL: Final[int]
"""The range of zstd compression levels this libzstd accepts (negative levels are faster)."""
ZSTD_DEFAULT_MAX_SIZE: Final[int]
"""The default largest content size (bytes) a frame may declare to be read (256 MiB)."""
ZSTD_MAX_RATIO: Final[int]
"""The most a zstd frame can expand per compressed byte (32768): a larger declared size is refused."""
ZSTD_VERSION: Final[str]
"""The version of the libzstd built in (e.g. ``"1.5.7"``)."""

class EncodeError(TypeError):
    """A value could not be written as MessagePack; the message names its type and path."""

class DecodeError(ValueError):
    """The input is not one well-formed MessagePack value."""

    offset: int
    """Byte offset (0-based) where reading failed; set on errors raised by the reader."""

def dumps(obj: Any, /, *, default: Callable[[Any], Any] | None = None) -> bytes:
    """``obj`` as MessagePack (``ormsgpack.packb(obj, option=OPT_NON_STR_KEYS |
    OPT_REPLACE_SURROGATES)``'s bytes). Raises EncodeError."""

def loads(data: _Buffer, /, *, ext_hook: Callable[[int, bytes], Any] | None = None) -> Any:
    """One MessagePack value from ``data``. Raises DecodeError (with ``.offset``)."""

def zstd_compress(data: bytes, /, level: int = 1) -> bytes:
    """``data`` as one zstd frame declaring its content size, with its content checksum; the GIL
    is released meanwhile. Raises ValueError for a level outside ZSTD_MIN_LEVEL..ZSTD_MAX_LEVEL."""

def zstd_decompress(data: bytes, /, max_size: int = ...) -> bytes:
    """The content of ``data``, exactly one zstd frame declaring at most ``max_size`` bytes; the
    GIL is released meanwhile. Raises DecodeError (with ``.offset``) naming why it is refused."""

def zstd_content_size(data: bytes, /) -> int | None:
    """The content size a zstd frame header declares (None: none). Raises DecodeError."""

def instance_dict(obj: Any, /) -> dict[str, Any] | None:
    """``obj``'s own ``__dict__``; None when it has none or has not created it yet."""

def generic_getattr(cls: type, /) -> bool:
    """True when ``cls``'s ``tp_getattro`` is CPython's ``PyObject_GenericGetAttr``."""

class LangGraphCodec:
    """Encoder and decoder state of one ``fast_serde.langgraph.FastSerializer``
    (``FastSerializer._make_codec`` builds it). Every argument is a keyword; raises TypeError
    for a missing or unknown one."""

    def __init__(
        self,
        *,
        fallback: Callable[[Any], bytes],
        inspect: Callable[[Any], PlanSpec],
        unusual: Callable[[int, bool, Any], Any],
        resolve: Callable[[int, str, str], tuple[int, Any]],
        failed: Callable[[int, str, str, Any, BaseException], Any],
        method_allowed: Callable[[str, str, str], bool],
        trust: Callable[[type], tuple[tuple[str, ...], bool, tuple[Any, ...]] | None] | None,
        delta: Callable[[Any], Any],
        numpy: Callable[[Any], Any],
        memo_rule: Callable[[Any], bool],
        memo_bytes: int | None = None,
        forwarded: Callable[[Any], Any] | None = None,
    ) -> None:
        """``fallback``: langgraph's ``_msgpack_enc``, for types written in Python.
        ``inspect``: ``fast_serde.langgraph._plans.encode_plan``, the per-class plan of the walker.
        ``unusual``: ``_ext_from_payload(code, decoded, tup)``, the parent's ext hook past its
        unpackb, for payloads of an unusual shape (decoded natively).
        ``resolve``: the allowlist decision ``(status, cls)``, status one of ``RESOLVED_*``.
        ``failed``: the value returned when building an ext value raised (the parent's fallback).
        ``method_allowed``: whether ext 3 may call ``module.name.method``.
        ``trust``: ``fast_serde.langgraph._trusted.trusted_model`` when ``validate_models=False``,
        else None.
        ``delta``: ext 7's reader, LangGraph's ``_DeltaSnapshot`` class on releases that have it.
        ``numpy``: builds a numpy array from an ext 6 payload (None on failure).
        ``memo_rule``: ``_purity.memo_model(cls) -> bool``, whether the memo may serve a class.
        ``memo_bytes``: the budget of the memo of validated models, in bytes (0: off; None:
        ``DEFAULT_MEMO_BYTES``).
        ``forwarded``: ``_verified.forwarded_init(cls)``, the ``BaseModel.__init__`` that builds a
        LangChain message without its ``__init__`` chain's frames, or None; None: call every class."""

    def dumps(self, obj: Any) -> bytes:
        """``_msgpack_enc(obj)``'s bytes. Raises EncodeError."""

    def loads(self, data: _Buffer) -> Any:
        """What ``ormsgpack.unpackb(data, ext_hook=..., option=OPT_NON_STR_KEYS)`` gives.
        Raises DecodeError (with ``.offset``)."""

    def loads_json(
        self, data: _Buffer, hook: Callable[[int, bytes], Any], delta: type | None = None
    ) -> Any:
        """What ``ormsgpack.unpackb(data, ext_hook=hook, option=OPT_NON_STR_KEYS)`` gives when
        ``hook`` is langgraph-checkpoint's ``_msgpack_ext_hook_to_json`` (``delta`` None) or the
        in-memory runtime's ``_delta_aware_hook`` around it (``delta``: ``_DeltaSnapshot``):
        ext values become that hook's plain data; unusual payloads are handed to ``hook``.
        Raises DecodeError (with ``.offset``), and what ``hook`` raises."""

    def bind(
        self,
        owner: Any,
        slow_loads: Callable[[Any, Any], Any],
        *,
        msgpack: bool,
        zstd: tuple[int, int, int] | None,
        max_decompressed_bytes: int,
    ) -> TypedBinding:
        """The native ``dumps_typed``/``loads_typed`` of the FastSerializer ``owner`` over this
        codec. ``slow_loads(owner, data)``: the Python ``loads_typed``, for every input the
        binding does not read itself; ``msgpack``: whether ``"msgpack"``/``"msgpack-zstd"``
        data is read natively (False with a custom ext hook); ``zstd``: ``(level, min_bytes,
        max_bytes)`` of ``compression="zstd"`` or None; ``max_decompressed_bytes``: the largest
        content size a frame may declare (bytes)."""

    def clear_cache(self) -> None:
        """Forget every cache this codec reads through: its plans, cached classes with their
        trusted-restore and forwarding decisions, and memo; and the two the process shares, the
        watched set (emptied with a new generation, ``watch_stats()``) and the reader's map-key
        cache (emptied by its next reader). ``FastSerializer.clear_cache()`` also empties the
        Python side's caches."""

    def cache_sizes(self) -> dict[str, int]:
        """Entries per class-keyed cache (counts): ``{"plans", "thread_plans", "classes",
        "trusted", "forwarded", "memo_classes", "memo_entries"}``."""

    def memo_stats(self) -> dict[str, int]:
        """``{"hits", "misses", "fills", "rejected", "entries", "bytes", "budget", "marks"}``: counts;
        bytes, budget and marks in bytes. Hits and misses add up to the ext 5 payloads looked up."""

    def set_memo_bytes(self, budget: int) -> None:
        """Set the memo's budget in bytes (0 turns it off and empties it)."""


class PlanSpec:
    """A class's plan as ``fast_serde.langgraph._plans.encode_plan`` decides it, read by the
    walker (crates/fast-serde-core/src/langgraph/spec.rs); frozen. ``kind``: a ``PLAN_KINDS``
    value; ``fields``: the attributes the walker reads, in order; ``flags``: ``PLAN_FLAGS``
    bits; ``guards``: per field of a PYDANTIC_V2_DICT plan, its TypedDict guard spec or None;
    ``steer_any``/``steer_all``: with ``CHECK_INSTANCE``, an object whose own ``__dict__``
    holds any of the first, or all of the second (when not empty), takes the Python path."""

    def __init__(
        self,
        kind: int,
        *,
        fields: Sequence[str] = (),
        flags: int = 0,
        guards: Iterable[Any] | None = None,
        steer_any: Sequence[str] = (),
        steer_all: Sequence[str] = (),
    ) -> None:
        """Raises ValueError for an unknown kind or flag bit, TypeError for a str in place of a
        sequence of names, OverflowError outside 0-255."""

    @property
    def kind(self) -> int: ...
    @property
    def fields(self) -> tuple[str, ...]: ...
    @property
    def flags(self) -> int: ...
    @property
    def guards(self) -> Any: ...
    @property
    def steer_any(self) -> tuple[str, ...]: ...
    @property
    def steer_all(self) -> tuple[str, ...]: ...
    def with_flags(self, flags: int) -> PlanSpec:
        """The same spec with ``flags`` in place of its own."""


class TypedBinding:
    """``FastSerializer.dumps_typed``/``loads_typed`` as native calls, made by
    ``LangGraphCodec.bind`` (crates/fast-serde-core/src/langgraph/typed.rs)."""

    def dumps_typed(self, obj: Any) -> tuple[str, bytes | bytearray]:
        """``("null", b"")``, ``("bytes", obj)``, ``("bytearray", obj)``, ``("msgpack", data)``,
        ``("msgpack-zstd", frame)`` or ``("pickle", data)``. Raises EncodeError."""

    def loads_typed(self, data: tuple[str, Any]) -> Any:
        """The object JsonPlusSerializer's ``loads_typed`` returns; inputs other than the native
        tags go to the Python method. Raises what it raises, DecodeError for bad MessagePack."""


def typed_count(index: int) -> None:
    """Add one to ``stats()`` counter ``index``: 0 dumps, 1 dumps_fallback, 2 loads, 3
    loads_fallback. Raises IndexError for another index."""

def typed_counts() -> tuple[int, int, int, int, int, int]:
    """``(dumps, dumps_fallback, loads, loads_fallback, dumps_ns, loads_ns)`` since the process
    started: calls, and nanoseconds inside them while timing."""

def typed_time(slot: int, ns: int) -> None:
    """Add ``ns`` nanoseconds to slot 0 (dumps_typed) or 1 (loads_typed). Raises IndexError."""

def typed_timing(on: bool) -> None:
    """Switch the native methods' timing on or off."""


def watch(deps: Iterable[tuple[str, Any, Any, Any]]) -> None:
    """Watch what verdicts on classes rest on outside the classes (``_verified_deps.Dep``): each
    ``(kind, holder, key, value)`` of kind ``"item"`` (a dict maps ``key`` to ``value``),
    ``"code"``/``"defaults"``/``"kwdefaults"`` (a function's attribute is ``value``), ``"cell"``
    (closure cell number ``key`` of a function holds ``value``) or ``"call"`` (a metaclass's
    ``__call__`` is ``value``). Checked once per document that uses a cached verdict; a change
    drops every codec's trust decisions and memo. Raises ValueError (unknown kind) or TypeError
    (a holder of another type)."""

def watch_stats() -> dict[str, int]:
    """``{"entries", "generation", "checks"}``: objects watched now, how many checks found a
    change, checks run since the process started."""
