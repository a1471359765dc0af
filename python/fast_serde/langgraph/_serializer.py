"""`FastSerializer` (exported by `fast_serde.langgraph`) and the callables it gives the codec.

`FastSerializer` subclasses the installed `JsonPlusSerializer`; `dumps_typed` and `loads_typed`
run `_native.LangGraphCodec` (crates/fast-serde-core/src/langgraph/codec.rs), built by
`_make_codec` with the module-level callables below: the parent's allowlist decision and import
(`_resolve`), its ext hook for unusual payloads (`_ext_from_payload`) and fallbacks (`_failed`,
`_method_allowed`, `_numpy_array`), and the per-class plans (`_plans`). How the
langgraph-checkpoint releases differ lives in `_compat`; on a release outside its verified list,
`_probe` checks this class against the installed parent at first use.
"""

from __future__ import annotations

import functools
import importlib
import pickle
from typing import Any

# First: a clear ImportError on a release without the allowlist.
from fast_serde.langgraph import _compat
from langgraph.checkpoint.serde import _msgpack as _lg_msgpack
from langgraph.checkpoint.serde import jsonplus as _jsonplus
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from fast_serde import _native
from fast_serde._native import EncodeError, LangGraphCodec
from fast_serde.langgraph import _compression, _plans, _probe, _purity, _trusted, _verified
from fast_serde.langgraph._stats import counted_dumps, counted_loads

# Ext 7's reader for the installed release (the class, or None before 4.1).
_DeltaSnapshot = _compat.read_delta_snapshot

__all__ = ["DEFAULT_MEMO_BYTES", "FastSerializer"]

_EMPTY_BYTES = b""

# Attributes of a FastSerializer that are not its state (__getstate__): the native codec, the
# probe's verdict, and the native methods bound to the instance (_bind_native).
_NOT_STATE = ("_codec", "_verdict", "_native", "dumps_typed", "loads_typed")

_MAX_SIZE = 2**64 - 1  # sizes handed to the codec are u64 / usize

DEFAULT_MEMO_BYTES = _native.DEFAULT_MEMO_BYTES  # crates/fast-serde-core/src/langgraph/memo.rs

# `resolve` answers, read by the native codec (crates/fast-serde-core/src/langgraph/classes.rs).
_RESOLVED_CACHE = _native.RESOLVED_CACHE  # allowed; the class may be cached (no per-object event in the parent)
_RESOLVED_ONCE = _native.RESOLVED_ONCE  # allowed, but the parent emits an event per object: ask again next time
_RESOLVED_BLOCKED = _native.RESOLVED_BLOCKED  # blocked or not importable: the payload is returned as the parent does
_RESOLVED_FIXED = _native.RESOLVED_FIXED  # as _RESOLVED_CACHE, for a constructor that is no module attribute (Send)


class FastSerializer(JsonPlusSerializer):
    """A JsonPlusSerializer whose msgpack path runs natively in Rust.

    Same constructor arguments as ``JsonPlusSerializer`` (``pickle_fallback``,
    ``allowed_json_modules``, ``allowed_msgpack_modules``, ``__unpack_ext_hook__``) and the same
    security model: the msgpack allowlist (``LANGGRAPH_STRICT_MSGPACK``) is applied to every ext
    value before anything is imported or constructed, with the parent's logger, warnings and
    ``emit_serde_event`` events.

    Args:
        validate_models: ``True`` (default) rebuilds pydantic models exactly as the parent does,
            ``cls(**kwargs)`` falling back to ``cls.model_construct(**kwargs)``. ``False`` is an
            opt-in trusted mode: pydantic models are restored without re-running validation, the
            way ``pickle`` restores them (``__dict__``, fields set and extras set directly),
            where the class's schema proves that validation returns every value unchanged (a rule
            read once per class by ``fast_serde.langgraph._trusted.trusted_model``: no validators,
            private attributes or value-changing config, fields of plain types) and each value
            meets its field's rule; every other object is validated as usual, so the objects are
            those the parent builds. The allowlist applies in both modes. Use it only for
            checkpoints you trust as you would trust a pickle (docs/security.md).
        memo_bytes: the budget, in bytes, of the memo of validated models (default
            ``DEFAULT_MEMO_BYTES``, 64 MiB; ``0`` turns it off), charged what its entries really
            hold. An ext 5 payload seen before (the same class, the exact same bytes) is rebuilt
            from a copy of what validation gave, instead of validated again, for the classes whose
            validated result provably depends on the payload alone (``_purity.memo_model``: by a
            rule read from the class, LangChain's messages by a verified table, or a class that
            declares ``__fast_serde_memo__ = True``); every other class is validated on every
            load. The objects are those validation gives, identity graph included, each one
            independent (docs/usage.md). Raises ValueError when negative, TypeError when not an
            int (a str, float or bool).
        compression: ``None`` (default: every blob is JsonPlusSerializer's) or ``"zstd"``: a
            MessagePack document of at least ``compression_min_bytes`` bytes is written as one
            zstd frame (RFC 8878) declaring its content size, with its content checksum, under
            the type tag ``"msgpack-zstd"``, when that is smaller. Such a store needs
            fast-serde to be read; every FastSerializer reads it, whatever its own
            ``compression`` (docs/usage.md, "Compressed checkpoints").
        compression_level: zstd's compression level (int, ``_native.ZSTD_MIN_LEVEL`` ..
            ``ZSTD_MAX_LEVEL``; default 1, zstd's fastest standard level). Only with
            ``compression``.
        compression_min_bytes: documents shorter than this many bytes stay ``"msgpack"``
            (default 1024). Only with ``compression``.
        max_decompressed_bytes: the largest content size, in bytes, a ``"msgpack-zstd"`` frame
            may declare to be read (default 256 MiB, ``_compression.DEFAULT_MAX_DECOMPRESSED_BYTES``);
            a writer leaves larger documents uncompressed. Reading never reserves more than the
            frame declares, nor decompresses a frame that declares no size.
        Invalid compression settings raise ValueError (TypeError for a non-int).

    ``dumps_typed(obj) -> (type_tag, bytes)``: ``("null", b"")`` for None, ``("bytes", obj)``,
    ``("bytearray", obj)``, else ``("msgpack", data)`` with ``data`` byte-identical to the
    parent's (``("msgpack-zstd", frame)`` with ``compression="zstd"``). Raises ``fast_serde.EncodeError`` (a ``TypeError``) naming the type and path of an
    unserializable value, unless ``pickle_fallback=True`` (then ``("pickle", data)``).

    ``loads_typed((type_tag, data)) -> Any``: reads every tag the parent reads, and
    ``"msgpack-zstd"``; ``"msgpack"``
    data must be what ``ormsgpack.unpackb`` reads (exact ``bytes`` or ``bytearray``, a C-contiguous
    ``memoryview``), else its ``ValueError``; malformed msgpack raises ``fast_serde.DecodeError``
    (a ``ValueError``) with the byte offset, and so does a zstd frame that is refused (its
    reason in the message).

    On each instance, ``dumps_typed`` and ``loads_typed`` are built-in functions bound by
    ``_bind_native`` (``_native.TypedBinding``, crates/fast-serde-core/src/langgraph/typed.rs):
    a saver's call reaches the codec with no Python frame in between, with the results and
    exceptions of the methods below, which stay for subclasses that override them (their
    override runs, and ``super()`` reaches these), for a side the probe sent to the parent, and
    for the inputs the native ``loads_typed`` hands back (``json``, ``pickle``, unknown tags,
    malformed ``data``, a custom ext hook).

    Only an ``Exception`` raised by user code (validators, constructors, ``model_dump``, imports)
    takes the parent's fallbacks; KeyboardInterrupt, SystemExit and GeneratorExit propagate
    unchanged from both methods. ``copy.copy``/``copy.deepcopy``/``pickle`` give an independent
    serializer with the same settings and an empty memo (docs/usage.md).
    """

    def __init__(
        self,
        *,
        pickle_fallback: bool = False,
        allowed_json_modules: Any = None,
        allowed_msgpack_modules: Any = _lg_msgpack._SENTINEL,
        __unpack_ext_hook__: Any = None,
        validate_models: bool = True,
        memo_bytes: int | None = None,
        compression: str | None = None,
        compression_level: int | None = None,
        compression_min_bytes: int | None = None,
        max_decompressed_bytes: int | None = None,
    ) -> None:
        super().__init__(
            pickle_fallback=pickle_fallback,
            allowed_json_modules=allowed_json_modules,
            allowed_msgpack_modules=allowed_msgpack_modules,
            __unpack_ext_hook__=__unpack_ext_hook__,
        )
        self.validate_models = validate_models
        # An int, as the compression settings are: not a str, float or bool.
        self.memo_bytes = (
            DEFAULT_MEMO_BYTES
            if memo_bytes is None
            else _compression.int_setting("memo_bytes", memo_bytes)
        )
        if self.memo_bytes < 0:
            raise ValueError(f"memo_bytes must be >= 0, not {memo_bytes!r}")
        # On a release outside the verified list, the first construction probes it (_probe).
        self._native = _probe.verdict(FastSerializer)
        self._codec = self._make_codec()
        # Binds the native dumps_typed/loads_typed (_bind_native).
        self._set_compression(
            compression, compression_level, compression_min_bytes, max_decompressed_bytes
        )

    @property
    def _native(self) -> _probe.Verdict:
        """The probe's verdict (``_probe.Verdict``): whether ``dumps_typed``/``loads_typed`` run
        natively or hand everything to the parent. Setting it binds the methods anew."""
        return self.__dict__["_verdict"]  # type: ignore[no-any-return]

    @_native.setter
    def _native(self, verdict: _probe.Verdict) -> None:
        self.__dict__["_verdict"] = verdict
        self._bind_native()

    def _bind_native(self) -> None:
        """Set this instance's ``dumps_typed``/``loads_typed`` attributes to the native methods
        of a ``_native.TypedBinding`` over its codec (``LangGraphCodec.bind``,
        crates/fast-serde-core/src/langgraph/typed.rs), so a saver's ``serde.dumps_typed(x)``
        reaches the codec with no Python frame in between. Each side is bound only where the
        probe's verdict lets it run natively and ``type(self)`` does not override the method (a
        subclass's override, and its ``super()`` calls, run as written); otherwise the class
        methods below run. Called again whenever the settings it reads change (the verdict,
        the codec, compression), and a no-op until they are all set."""
        d = self.__dict__
        d.pop("dumps_typed", None)
        d.pop("loads_typed", None)
        codec, verdict = d.get("_codec"), d.get("_verdict")
        if codec is None or verdict is None or "_zstd" not in d:
            return
        # Against the methods as defined below, not as looked up now: a method patched on the
        # class (a test's spy, a monkeypatch) runs for the serializers made after the patch.
        cls = type(self)
        dumps = verdict.dumps and cls.dumps_typed is _PYTHON_DUMPS_TYPED
        loads = verdict.loads and cls.loads_typed is _PYTHON_LOADS_TYPED
        if not (dumps or loads):
            return
        zstd = self._zstd
        binding = codec.bind(
            self,
            _PYTHON_LOADS_TYPED,
            msgpack=not self._custom_unpack_ext_hook,
            zstd=None
            if zstd is None
            else (zstd.level, zstd.min_bytes, min(zstd.max_bytes, _MAX_SIZE)),
            max_decompressed_bytes=min(self.max_decompressed_bytes, _MAX_SIZE),
        )
        if dumps:
            d["dumps_typed"] = binding.dumps_typed
        if loads:
            d["loads_typed"] = binding.loads_typed

    def _set_compression(
        self,
        compression: str | None = None,
        compression_level: int | None = None,
        compression_min_bytes: int | None = None,
        max_decompressed_bytes: int | None = None,
    ) -> None:
        """Set the compression arguments (see the class docstring); ``install()`` calls it on
        LangGraph Server's serializer, whose ``__init__`` does not take them."""
        self._zstd, self.max_decompressed_bytes = _compression.settings(
            compression, compression_level, compression_min_bytes, max_decompressed_bytes
        )
        self.compression = None if self._zstd is None else compression
        self._bind_native()

    def _make_codec(self) -> LangGraphCodec:
        # Module-level callables bound to the allowlist, never to self: no reference cycle.
        return LangGraphCodec(
            fallback=_jsonplus._msgpack_enc,
            inspect=_plans.encode_plan,
            unusual=functools.partial(_ext_from_payload, self._allowed_msgpack_modules),
            resolve=functools.partial(_resolve, self._allowed_msgpack_modules),
            failed=_failed,
            method_allowed=_method_allowed,
            trust=None if self.validate_models else _trusted.trusted_model,
            delta=_DeltaSnapshot,
            numpy=_numpy_array,
            memo_rule=_purity.memo_model,
            memo_bytes=self.memo_bytes,
            forwarded=_verified.forwarded_init,
        )

    def __getstate__(self) -> dict[str, Any]:
        """The state ``copy.copy``, ``copy.deepcopy`` and ``pickle`` take: every attribute (the
        parent's settings, ``validate_models``, ``memo_bytes``) but the native codec and the
        process's probe verdict and the native methods bound to this instance, which
        ``__setstate__`` makes anew. A copy is an independent
        serializer with the same settings; its memo starts empty. ``pickle`` succeeds exactly
        when it does for a ``JsonPlusSerializer`` of the same arguments (the parent's own ext
        hook, a local function, pickles only when ``__unpack_ext_hook__`` was given one that does).
        """
        state = self.__dict__.copy()
        for name in _NOT_STATE:
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._codec = self._make_codec()
        self._native = _probe.verdict(FastSerializer)  # binds the native methods to this copy

    def with_msgpack_allowlist(self, extra_allowlist: Any) -> FastSerializer:
        """Return a FastSerializer with the allowlist merged (as the parent does)."""
        clone = super().with_msgpack_allowlist(extra_allowlist)
        if clone is not self:
            clone._codec = clone._make_codec()
            clone._bind_native()  # to the clone's codec, not the original's
        return clone  # type: ignore[return-value]

    def clear_cache(self) -> None:
        """Forget every cache a load or a dump of this serializer reads through; each is filled
        again on next use (docs/architecture.md, "Caches"). This serializer's own: its plans,
        allowlisted classes, trusted-restore decisions, forwarding answers and memo (entries and
        class answers). Shared by the process, and so emptied for every serializer: the watched
        set (with a new generation: every serializer drops the decisions that rested on it at
        its next load), the reader's map-key cache, the verified table's verdicts and the sources
        they were read from (`_verified`, `_review`), the allowlist checks and the readers of
        LangGraph Server's JSON hook (`_compat`). Returns None; raises nothing. Not needed
        after a module reload or a class change, which the caches follow themselves: for tests;
        the next load of any serializer reads and compiles the reviewed LangChain sources
        again (65-250 ms measured, docs/usage.md), so not for periodic calls."""
        self._codec.clear_cache()
        _verified.clear()
        _compat.clear()

    def memo_stats(self) -> dict[str, int]:
        """The memo of validated models: ``{"hits", "misses", "fills", "rejected", "entries",
        "bytes", "budget", "marks"}`` — counts since this serializer was made; ``bytes`` (what the
        entries and the table of first sights hold), ``budget`` and ``marks`` (the table of first
        sights alone, part of ``bytes``; Rust memory that tracemalloc does not see) in bytes. See docs/usage.md ("The memo of validated models")."""
        return self._codec.memo_stats()

    @counted_dumps
    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        if not self._native.dumps:
            typed = super().dumps_typed(obj)
            return self._zstd.dumps(typed[1]) if self._zstd and typed[0] == "msgpack" else typed
        if obj is None:
            return "null", _EMPTY_BYTES
        elif isinstance(obj, bytes):
            return "bytes", obj
        elif isinstance(obj, bytearray):
            return "bytearray", obj
        try:
            data = self._codec.dumps(obj)
        except EncodeError:
            if self.pickle_fallback:
                return "pickle", pickle.dumps(obj)
            raise
        return ("msgpack", data) if self._zstd is None else self._zstd.dumps(data)

    @counted_loads
    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        type_, data_ = data
        if type_ == _compression.TAG:
            type_, data_ = "msgpack", _compression.decompress(data_, self.max_decompressed_bytes)
            data = (type_, data_)
        if type_ == "msgpack" and self._native.loads:
            if not self._custom_unpack_ext_hook:
                return self._codec.loads(data_)
            if (json := _compat.json_reader(self._unpack_ext_hook)) is not None:
                return self._codec.loads_json(data_, json[0], json[1])  # not *json: 10x the call
        return super().loads_typed(data)


# FastSerializer's own Python methods, which _bind_native compares a class's with.
_PYTHON_DUMPS_TYPED = FastSerializer.dumps_typed
_PYTHON_LOADS_TYPED = FastSerializer.loads_typed


def _check_allowed(allowed: Any, module: Any, name: Any) -> int:
    """The parent's ``_check_allowed(module, name)`` itself (its events, warning texts and
    de-duplication, release by release: ``_compat.check_allowed``), answered as a ``_RESOLVED_*``
    status. ``allowed`` is the serializer's normalised ``allowed_msgpack_modules``."""
    if (module, name) in _lg_msgpack.SAFE_MSGPACK_TYPES:
        return _RESOLVED_CACHE  # the parent's first test: allowed, no event, no warning
    if not _compat.check_allowed(allowed, module, name):
        return _RESOLVED_BLOCKED
    # Permissive (True): the parent emits an event per object; an explicit entry is silent.
    return _RESOLVED_ONCE if allowed is True else _RESOLVED_CACHE


def _resolve(allowed: Any, code: int, module: str, name: str) -> tuple[int, Any]:
    """The parent's ``_check_allowed`` and import, for the native reader.

    Returns ``(status, constructor)``, see ``_RESOLVED_*``. Mirrors
    ``langgraph.checkpoint.serde.jsonplus._create_msgpack_ext_hook``. For ``Send`` (ext 1) the
    constructor is the parent's own ``_send_from_args``, which the parent never looks up:
    ``_RESOLVED_FIXED``. A cached class is used while ``sys.modules[module].__dict__[name]`` is
    still that class; otherwise (a reload, a redefinition, a monkeypatch, the module gone from
    ``sys.modules``) this is asked again, as the parent imports and looks up the class for every
    object.
    """
    status = _check_allowed(allowed, module, name)
    if status == _RESOLVED_BLOCKED:
        return status, None
    if code == 1 and (module, name) == ("langgraph.types", "Send"):
        # The parent never looks Send up in a module: cached as is.
        return (_RESOLVED_FIXED if status == _RESOLVED_CACHE else status), _send
    try:
        cls = getattr(importlib.import_module(module), name)
    except Exception:
        if code in (0, 1, 2, 3):
            raise  # the reader hands it to `_failed`: this release's fallback for codes 0-3
        return _RESOLVED_BLOCKED, None
    return status, cls


def _ext_from_payload(allowed: Any, code: int, decoded: bool, tup: Any) -> Any:
    """The parent's ext hook for codes 0-5 after its ``ormsgpack.unpackb(data)``, given the
    payload the native reader decoded (``tup``; ``decoded`` is False when it could not be).

    The native reader (crates/fast-serde-core/src/langgraph/decode.rs, ``constructed``) builds
    every payload JsonPlusSerializer writes itself; it calls this, and nothing else does, for
    exactly three shapes, none of which the parent writes:

    * a payload that is not an array of 3 items (4 for codes 3 and 5) whose first two are str:
      ``tup`` is the whole payload as decoded (any value), or ``decoded`` is False when it could
      not be decoded;
    * code 3 or 5 whose fourth item (the method) is no str: ``tup`` is the 4-item list;
    * code 3 naming a method other than ``datetime.datetime.fromisoformat`` that the parent's
      ``_check_allowed_method`` does not block (``SAFE_MSGPACK_METHODS`` allows it, or the check
      raised; langgraph-checkpoint 4.3 allows that one method alone, so only a later release's
      or a patched set reaches this): ``tup`` is the 4-item list.

    So it serves crafted, corrupted or future payloads (python/tests/robustness/test_decoder.py,
    test_fuzz.py and langgraph_serde/test_property.py reach it; the probe's values, every kind
    and ext code, do not: test_ext_payloads.py). No byte string is handed to ormsgpack and each
    nested object is built once. Line for line ``_create_msgpack_ext_hook``'s ``ext_hook``
    (langgraph-checkpoint 4.3): the same lookups, events, warnings and fallbacks; an exception
    the parent lets escape (``tup[2]`` of a too-short payload in the pydantic branches) escapes
    here too.
    """
    if code in (4, 5):
        if not decoded:
            return None  # the parent's NameError branch: `tup` was never assigned
        try:
            if _check_allowed(allowed, tup[0], tup[1]) == _RESOLVED_BLOCKED:
                return tup[2]
            cls = getattr(importlib.import_module(tup[0]), tup[1])
            try:
                return cls(**tup[2])
            except Exception:
                return (cls.model_construct if code == 5 else cls.construct)(**tup[2])
        except Exception:
            return tup[2]
    try:
        if not decoded:
            raise ValueError("payload could not be decoded")
        if code == 3:
            if not _method_allowed(tup[0], tup[1], tup[3]):
                return tup[2]
            return getattr(getattr(importlib.import_module(tup[0]), tup[1]), tup[3])(tup[2])
        if _check_allowed(allowed, tup[0], tup[1]) == _RESOLVED_BLOCKED:
            return tup[2]
        if code == 1 and tup[0] == "langgraph.types" and tup[1] == "Send":
            return _compat.send_from_args(tup[2])
        ctor = getattr(importlib.import_module(tup[0]), tup[1])
        if code == 0:
            return ctor(tup[2])
        if code == 1:
            return ctor(*tup[2])
        return ctor(**tup[2])
    except Exception as exc:
        return _compat.reconstruction_fallback(tup, exc)


def _send(*args: Any) -> Any:
    """``Send`` from ext 1's positional arguments, exactly as the parent builds it."""
    return _compat.send_from_args(args)


def _failed(code: int, module: str, name: str, arg: Any, exc: BaseException) -> Any:
    """The parent's fallback when building ext ``code`` raised: the payload's argument (codes
    0-3 with the parent's one-time warning; pydantic codes silently)."""
    if code in (0, 1, 2, 3):
        return _compat.reconstruction_fallback((module, name, arg), exc)
    return arg


def _numpy_array(payload: Any) -> Any:
    """Ext 6 ``(dtype.str, shape, order, buffer)`` rebuilt as the parent does; None on failure."""
    try:
        import numpy as np

        dtype_str, shape, order, buf = payload
        return np.frombuffer(buf, dtype=np.dtype(dtype_str)).reshape(shape, order=order)
    except Exception:
        return None


def _method_allowed(module: str, name: str, method: str) -> bool:
    """The parent's own ``_check_allowed_method``: ext 3 may only call ``SAFE_MSGPACK_METHODS``;
    anything else emits ``msgpack_method_blocked`` and logs the parent's warning."""
    return _compat.check_allowed_method(module, name, method)
