"""The LangGraph modules that ``FAST_SERDE_INSTALL`` watches and ``install()`` patches, by name.

One list for ``fast_serde._startup`` (which watches them at interpreter start-up) and
``fast_serde.langgraph._install`` / ``_server`` (which patch them). Imports nothing: it is loaded
at start-up whenever ``FAST_SERDE_INSTALL`` is set.
"""

__all__ = ["CHECKPOINT_BASE", "PINNING_MODULES", "SERVER_SERDE"]

CHECKPOINT_BASE = "langgraph.checkpoint.base"
"""Defines ``BaseCheckpointSaver``, whose ``serde`` class attribute ``install()`` sets."""

PINNING_MODULES = ("langgraph.checkpoint.sqlite", "langgraph.checkpoint.sqlite.aio")
"""Modules whose global ``JsonPlusSerializer`` a saver's ``__init__`` calls to pin a serializer of
its own (``self.jsonplus_serde = JsonPlusSerializer()``, langgraph-checkpoint-sqlite 3.1)."""

SERVER_SERDE = "langgraph_api.serde"
"""LangGraph Server's ``Serializer`` (``fast_serde.langgraph._server``)."""
