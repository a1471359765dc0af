"""`FastSerializer`: JsonPlusSerializer's format (langgraph-checkpoint 4.x), written and read natively.

Usage with any stock checkpointer::

    from langgraph.checkpoint.sqlite import SqliteSaver
    from fast_serde.langgraph import FastSerializer

    saver = SqliteSaver(conn, serde=FastSerializer())

or, for every saver created without ``serde=``, ``fast_serde.langgraph.install()`` (undone by
``uninstall()``). The bytes are JsonPlusSerializer's own (``("msgpack", bytes)`` with its ext
codes 0-7; ``"null"``, ``"bytes"``, ``"bytearray"`` tags), so databases written by either are read
by both. Importing this package raises ImportError on a langgraph-checkpoint without the msgpack
allowlist (before 4.0.1).

The modules of this package, each the one place for its subject:

* ``_serializer``: ``FastSerializer`` and the callables it hands the native codec
  (``_native.LangGraphCodec``): the allowlist decision, the parent's ext hook and fallbacks.
* ``_plans``: the per-class plan of the walker (``encode_plan``, langgraph's
  ``_msgpack_default`` branch by branch), a ``_native.PlanSpec``; ``_guards``: when a model's
  ``__dict__`` is its ``model_dump()``, and the TypedDict guards the walker checks per object.
* ``_trusted``: the trusted-model rules of ``validate_models=False`` (``trusted_model``).
* ``_compat``: how the langgraph-checkpoint releases differ, named per feature.
* ``_probe``, ``_probe_values``: on a release outside ``_compat.VERIFIED``, the first
  ``FastSerializer`` proves itself against the installed parent.
* ``_install``: ``install()`` / ``uninstall()``, the stock savers' default serializer.
* ``_server``: LangGraph Server's serializer while installed.
* ``_stats``: ``stats()`` / ``reset_stats()``, the process-wide counters.

The ``FAST_SERDE_INSTALL`` start-up hook is ``fast_serde._startup``, outside this package: any
module in here imports this package first, and with it LangGraph.
"""

from __future__ import annotations

from fast_serde.langgraph._serializer import DEFAULT_MEMO_BYTES, FastSerializer
from fast_serde.langgraph._install import install, uninstall
from fast_serde.langgraph._stats import reset_stats, stats

__all__ = ["FastSerializer", "install", "uninstall", "stats", "reset_stats"]
