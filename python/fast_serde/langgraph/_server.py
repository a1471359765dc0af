"""LangGraph Server (``langgraph-api``): its own checkpoint serializer, run natively.

The server does not use the stock savers' default serializer: it builds its checkpointers with
``langgraph_api.serde.Serializer``, a ``JsonPlusSerializer`` subclass that

* reads ``allowed_json_modules`` and ``pickle_fallback`` from the server's config
  (``langgraph.json``'s ``checkpointer.serde``; ``pickle_fallback`` defaults to True),
* writes a value ormsgpack refuses with ``cloudpickle`` (``("pickle", ...)``) when the parent
  raises ``TypeError``, and reads ``"pickle"`` data back only while ``pickle_fallback`` is on,
* accepts an ``__unpack_ext_hook__`` (the state and history endpoints read checkpoints as JSON
  through ``_msgpack_ext_hook_to_json``).

It is built by the in-memory runtime (``langgraph_runtime_inmem.checkpoint``: the saver that runs
the graphs, and one per state/history request) and by ``langgraph_api._checkpointer._adapter``
(the gRPC checkpointer of the Postgres and Mongo backends).

While ``fast_serde.langgraph.install()`` is in effect, this module replaces that class with
``Serializer(ServerSerializer, FastSerializer)``, built once from the server's own class: its MRO
is the server's class, then ``FastSerializer``, then ``JsonPlusSerializer``. So every ``super()``
call in the server's code lands in ``FastSerializer``: the server's ``__init__``, cloudpickle
fallback, pickle checks and logging run unchanged, and the bytes are the ones the server writes
today (``FastSerializer`` writes ``JsonPlusSerializer``'s bytes; its ``EncodeError`` is a
``TypeError`` where ormsgpack's ``MsgpackEncodeError`` is one). A serializer given an
``__unpack_ext_hook__`` reads natively when the hook is ``_msgpack_ext_hook_to_json`` or the
in-memory runtime's ``_delta_aware_hook`` around it (the state and history endpoints;
``_compat.json_reader``), and through ``JsonPlusSerializer``'s own code with any other hook.

Exactly these are patched, each only when it still holds the server's class or instance:

1. ``langgraph_api.serde.Serializer`` (the runtime imports it from there each time it builds one);
2. ``langgraph_api._checkpointer._adapter._ApiSerializer`` (imported once, at module load);
3. the in-memory runtime's shared saver, ``langgraph_runtime_inmem.checkpoint.MEMORY``, when it
   was built before ``install()`` (e.g. ``install()`` called from a graph module): its ``serde``
   is replaced by a new instance built the same way (``Serializer()``, which reads the same
   config), so the server's runs use it from the next checkpoint on.

``uninstall()`` puts all three back. Only the ``langgraph-api`` versions in
:data:`VERIFIED_VERSIONS` are patched; with any other version the server keeps its own serializer
and one ``RuntimeWarning`` says so.
"""

from __future__ import annotations

import sys
import threading
import warnings
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType
from typing import Any

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from fast_serde._import_hook import forget, when_imported
from fast_serde._watched import SERVER_SERDE
from fast_serde.langgraph._serializer import FastSerializer
from fast_serde.langgraph._undo import PATCHES

__all__ = ["VERIFIED_VERSIONS", "server_serializer_class"]

VERIFIED_VERSIONS = frozenset({"0.16.7"})
"""``langgraph-api`` releases whose ``Serializer`` and call sites were read and tested."""

_lock = threading.Lock()
_wanted = False  # install() is in effect
_patched = False  # the server's serializer is replaced (recorded in _undo.PATCHES)
_warned = False
_settings: dict[str, Any] = {}  # install()'s compression arguments


def server_serializer_class(server_cls: type, settings: dict[str, Any] | None = None) -> type:
    """The native counterpart of LangGraph Server's ``Serializer`` class.

    Args:
        server_cls: ``langgraph_api.serde.Serializer`` (a direct ``JsonPlusSerializer`` subclass).
        settings: ``FastSerializer``'s compression arguments (``compression``,
            ``compression_level``, ...), applied after ``server_cls``'s constructor ran (it does
            not take them); None or empty: none.

    Returns:
        A new subclass of both ``server_cls`` and ``FastSerializer``, named ``Serializer``. Its
        constructor is ``server_cls``'s (then the compression settings).

    Raises:
        TypeError: ``server_cls`` is not a direct subclass of ``JsonPlusSerializer``.
    """
    if not (isinstance(server_cls, type) and server_cls.__bases__ == (JsonPlusSerializer,)):
        raise TypeError(f"{server_cls!r} is not a direct subclass of JsonPlusSerializer")
    namespace: dict[str, Any] = {
        "__module__": __name__,
        "__doc__": f"{server_cls.__module__}.{server_cls.__qualname__} running "
        "FastSerializer's native path (fast_serde.langgraph._server).",
    }
    if settings:
        frozen = dict(settings)

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            server_cls.__init__(self, *args, **kwargs)
            self._set_compression(**frozen)

        namespace["__init__"] = __init__
    return type("Serializer", (server_cls, FastSerializer), namespace)


def install(settings: dict[str, Any] | None = None) -> None:
    """Called by ``_install.install()``: patch the server now if ``langgraph_api.serde`` is
    imported, else as soon as it is, with ``FastSerializer``'s compression ``settings``."""
    global _wanted, _settings
    _settings = dict(settings or {})
    _wanted = True
    when_imported(SERVER_SERDE, on_serde_imported)


def uninstall() -> None:
    """Called by ``_install.uninstall()``: patch nothing more. ``_install.uninstall()`` then puts
    back what was patched (``_undo.PATCHES``)."""
    global _wanted, _patched
    _wanted = False
    forget(SERVER_SERDE, on_serde_imported)
    with _lock:
        _patched = False


def on_serde_imported(module: ModuleType) -> None:
    """Patch the server's serializer (see the module docstring) if ``install()`` is in effect.

    Args:
        module: ``langgraph_api.serde``, fully executed.

    Returns:
        None. An unverified ``langgraph-api`` version warns once and patches nothing.
    """
    global _patched
    server_cls = module.__dict__.get("Serializer")
    with _lock:
        if not _wanted or _patched or server_cls is None:
            return
    reason = _unverified(server_cls)
    if reason is not None:
        _warn_once(reason)
        return
    ours = server_serializer_class(server_cls, _settings)
    with _lock:
        if not _wanted or _patched:
            return
        _patched = _patch(module, "Serializer", server_cls, ours)
        adapter = sys.modules.get("langgraph_api._checkpointer._adapter")
        if adapter is not None:
            _patched = _patch(adapter, "_ApiSerializer", server_cls, ours) or _patched
        inmem = sys.modules.get("langgraph_runtime_inmem.checkpoint")
        memory = getattr(inmem, "MEMORY", None) if inmem is not None else None
        serde = getattr(memory, "serde", None)
        if type(serde) is server_cls and not serde._custom_unpack_ext_hook:
            PATCHES.set(memory, "serde", ours(pickle_fallback=serde.pickle_fallback))
            _patched = True


def _patch(owner: ModuleType, attr: str, expected: Any, ours: Any) -> bool:
    """Replace ``owner.attr`` when it still is ``expected``; whether it was. Caller holds _lock."""
    if owner.__dict__.get(attr) is expected:
        PATCHES.set(owner, attr, ours)
        return True
    return False


def _unverified(server_cls: Any) -> str | None:
    """Why the server's serializer must not be replaced, or None when it may be."""
    try:
        found = version("langgraph-api")
    except PackageNotFoundError:
        found = "(not installed as a distribution)"
    if found not in VERIFIED_VERSIONS:
        return (
            f"langgraph-api {found} was not verified with fast-serde "
            f"(verified: {', '.join(sorted(VERIFIED_VERSIONS))})"
        )
    if not (isinstance(server_cls, type) and server_cls.__bases__ == (JsonPlusSerializer,)):
        return f"langgraph_api.serde.Serializer is {server_cls!r}, not the verified class"
    return None


def _warn_once(reason: str) -> None:
    global _warned
    with _lock:
        if _warned:
            return
        _warned = True
    warnings.warn(
        f"fast-serde: {reason}; LangGraph Server keeps its own serializer "
        "(langgraph_api.serde.Serializer). The stock savers still use FastSerializer.",
        RuntimeWarning,
        stacklevel=2,
    )
