"""The one undo log of ``install()``: every attribute it replaced, so that ``uninstall()`` can put
back the exact objects.

``fast_serde.langgraph._install`` (the stock savers' default and the SQLite modules' pinned
class) and ``fast_serde.langgraph._server`` (LangGraph Server's serializer) both write here, and
``_install.uninstall()`` undoes it all in reverse order.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["PATCHES", "UndoLog"]

_MISSING = object()


class UndoLog:
    """Attributes set, each with the value it replaced; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # (owner, attribute, original value or _MISSING, value set), in the order set.
        self._entries: list[tuple[Any, str, Any, Any]] = []

    def set(self, owner: Any, attr: str, value: Any) -> None:
        """``setattr(owner, attr, value)``, remembering what ``owner.__dict__`` held before
        (nothing, when the attribute was inherited or absent)."""
        with self._lock:
            original = owner.__dict__.get(attr, _MISSING)
            setattr(owner, attr, value)
            self._entries.append((owner, attr, original, value))

    def undo(self) -> None:
        """Put every original back, newest first, and empty the log.

        An attribute that someone else changed after it was set here is left as they set it;
        one that was absent from ``owner.__dict__`` is deleted again (the inherited value shows).
        """
        with self._lock:
            entries, self._entries = self._entries, []
        for owner, attr, original, value in reversed(entries):
            if owner.__dict__.get(attr, _MISSING) is not value:
                continue
            if original is _MISSING:
                delattr(owner, attr)
            else:
                setattr(owner, attr, original)


PATCHES = UndoLog()
"""What ``install()`` (``_install`` and ``_server``) has replaced and not yet put back."""
