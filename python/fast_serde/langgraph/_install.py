"""Make LangGraph's stock checkpoint savers use ``FastSerializer`` without code changes.

:func:`install` patches exactly these attributes (and nothing else), each only when it exists:

1. ``langgraph.checkpoint.base.BaseCheckpointSaver.serde``, the class attribute that
   ``BaseCheckpointSaver.__init__`` falls back to when a saver is created without ``serde=``
   (``self.serde = maybe_add_typed_methods(serde or self.serde)``), is set to one shared
   ``FastSerializer(**settings)`` (the compression arguments given to :func:`install`, if any).
   Every stock saver inherits it: ``InMemorySaver``, ``SqliteSaver``,
   ``AsyncSqliteSaver``, ``PostgresSaver``, ``AsyncPostgresSaver``, ``ShallowPostgresSaver`` and
   ``AsyncShallowPostgresSaver`` (and any other subclass that does not set ``serde`` itself).
2. The module global ``JsonPlusSerializer`` of ``langgraph.checkpoint.sqlite`` and of
   ``langgraph.checkpoint.sqlite.aio`` is set to ``FastSerializer``: ``SqliteSaver.__init__`` and
   ``AsyncSqliteSaver.__init__`` pin a second serializer of their own,
   ``self.jsonplus_serde = JsonPlusSerializer()``, whatever ``serde=`` says. These two modules
   are imported by :func:`install` when they are installed (``langgraph-checkpoint-sqlite``;
   ``aiosqlite`` for the second); a module that cannot be imported is skipped.

3. LangGraph Server's own serializer, ``langgraph_api.serde.Serializer``, and the in-memory
   runtime's saver built from it: now if ``langgraph_api.serde`` is imported, else when it is
   (see ``fast_serde.langgraph._server`` for the three attributes and the verified versions).

The Postgres and in-memory savers pin no serializer of their own (checked against
langgraph-checkpoint 4.3.2, langgraph-checkpoint-sqlite 3.1.2, langgraph-checkpoint-postgres
3.2.0), so (1) covers them.

What is not changed:

* A saver given ``serde=...`` keeps that serializer (``serde or self.serde`` never reads the
  class attribute then), even when it is a ``JsonPlusSerializer``; so does an
  ``EncryptedSerializer`` and the ``JsonPlusSerializer`` inside it.
* Savers created before :func:`install` keep the serializer they were created with
  (``serde`` is an instance attribute once ``__init__`` ran).
* A saver class that sets its own ``serde`` class attribute, ``langgraph.cache.base.BaseCache``
  (a node cache, not a checkpoint saver) and ``EncryptedSerializer``'s default argument.

The data format does not change: ``FastSerializer`` writes ``JsonPlusSerializer``'s bytes, so
databases written before, during and after :func:`install` read the same either way.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from fast_serde._import_hook import forget, is_importing, when_imported
from fast_serde._watched import PINNING_MODULES
from fast_serde.langgraph import _server
from fast_serde.langgraph._serializer import FastSerializer
from fast_serde.langgraph._undo import PATCHES

__all__ = ["install", "uninstall"]

_lock = threading.Lock()
_installed = False  # what was replaced is in _undo.PATCHES


def install(
    *,
    compression: str | None = None,
    compression_level: int | None = None,
    compression_min_bytes: int | None = None,
    max_decompressed_bytes: int | None = None,
) -> None:
    """Make every checkpoint saver created from now on, without ``serde=``, use ``FastSerializer``.

    Patches the attributes listed in this module's docstring; see there for what is not
    changed. Idempotent: calling it again while installed changes nothing (the same shared
    ``FastSerializer`` stays in place, with the settings of the first call). Thread-safe.

    Args:
        compression, compression_level, compression_min_bytes, max_decompressed_bytes: the
            ``FastSerializer`` arguments of the same names (default: none given, so no
            compression), applied to the shared serializer and to LangGraph Server's.
            ``FAST_SERDE_INSTALL`` passes what ``FAST_SERDE_COMPRESSION`` asks for
            (``fast_serde.langgraph._compression.from_env``).

    Returns:
        None.

    Raises:
        ImportError: ``langgraph-checkpoint`` (``langgraph.checkpoint.base``) or ``ormsgpack``
            is not installed. Missing optional savers (sqlite, aiosqlite) are skipped silently.
        ValueError, TypeError: invalid compression settings (nothing is patched).
    """
    global _installed
    settings = {
        name: value
        for name, value in (
            ("compression", compression),
            ("compression_level", compression_level),
            ("compression_min_bytes", compression_min_bytes),
            ("max_decompressed_bytes", max_decompressed_bytes),
        )
        if value is not None
    }
    with _lock:
        if _installed:
            return
        # Imported here, not with this module: with FAST_SERDE_INSTALL set, the checkpoint
        # base's import runs install() (fast_serde._startup), which must not happen while
        # fast_serde.langgraph is still being imported.
        from langgraph.checkpoint.base import BaseCheckpointSaver

        planned: list[tuple[Any, str, Any]] = [
            (BaseCheckpointSaver, "serde", FastSerializer(**settings))
        ]
        for name in PINNING_MODULES:
            if is_importing(name):
                # This install() runs inside that module's own import (it imported the checkpoint
                # base, whose import ran install()): its global is bound later; patch it then.
                when_imported(name, _pin_when_imported)
                continue
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue
            # Only where the global is LangGraph's own class (someone else's replacement, or a
            # version that no longer pins, is left alone).
            if module.__dict__.get("JsonPlusSerializer") is JsonPlusSerializer:
                planned.append((module, "JsonPlusSerializer", FastSerializer))

        for owner, attr, value in planned:
            PATCHES.set(owner, attr, value)
        _installed = True
        _server.install(settings)


def _pin_when_imported(module: Any) -> None:
    """The pinning module's import has finished: patch its global as install() would have."""
    with _lock:
        if not _installed or module.__dict__.get("JsonPlusSerializer") is not JsonPlusSerializer:
            return
        PATCHES.set(module, "JsonPlusSerializer", FastSerializer)


def uninstall() -> None:
    """Undo :func:`install`: put back the exact objects it replaced.

    Savers created while installed keep their ``FastSerializer`` (their ``serde`` is an instance
    attribute). An attribute that was changed again by someone else after :func:`install` is left
    as they set it. Idempotent: a no-op when not installed. Thread-safe.

    Returns:
        None.
    """
    global _installed
    with _lock:
        if not _installed:
            return
        _installed = False
        for name in PINNING_MODULES:
            forget(name, _pin_when_imported)
        _server.uninstall()  # no server patch is added after this
        PATCHES.undo()
