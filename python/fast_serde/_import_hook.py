"""Run a callback when a module has finished importing, without importing it.

:func:`when_imported` puts one finder (``_Watcher``) at the front of ``sys.meta_path`` while
anything is watched. It finds nothing itself: for a watched name it asks the finders after it and
wraps the loader of the spec they return, so that the callbacks run right after the module's code
ran and before the importer gets the module. The original loader is put back on the module
(``__loader__``, ``__spec__.loader``) before its code runs, and the finder leaves ``sys.meta_path``
once nothing is watched.

Nothing here knows LangGraph: ``fast_serde._startup`` (the ``FAST_SERDE_INSTALL`` policy),
``fast_serde.langgraph._install`` and ``fast_serde.langgraph._server`` use it. It imports only what
``site`` has loaded already (``_thread``, ``sys``), because ``fast_serde._startup`` imports it at
interpreter start-up whenever ``FAST_SERDE_INSTALL`` is set.
"""

from __future__ import annotations

import _thread
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any

__all__ = ["forget", "is_importing", "when_imported"]

_lock = _thread.RLock()  # threading's RLock, without importing threading
_callbacks: dict[str, list[Callable[[ModuleType], None]]] = {}
# Watched modules whose code has run and whose callbacks are running (their import is ending).
_executed: set[str] = set()


def when_imported(name: str, callback: Callable[[ModuleType], None]) -> bool:
    """Call ``callback(module)`` once module ``name`` has finished importing.

    At once when it already has; else from the import that loads it, right after the module's
    code ran (and before the importer gets it). A callback added while the module is being
    imported runs at the end of that import if the module was watched when the import started.

    Args:
        name: a full module name, e.g. ``"langgraph_api.serde"``.
        callback: called with the module object; what it raises propagates to the import.

    Returns:
        True when the callback ran or will run; False when the module is being imported right
        now without having been watched (the callback is kept for a later import, e.g. after
        ``importlib.reload`` or a ``sys.modules`` removal).
    """
    with _lock:
        module = sys.modules.get(name)
        if module is None or (_initializing(module) and name not in _executed):
            _callbacks.setdefault(name, []).append(callback)
            if _WATCHER not in sys.meta_path:
                sys.meta_path.insert(0, _WATCHER)
            return module is None or isinstance(
                getattr(module.__spec__, "loader", None), _NotifyingLoader
            )
    callback(module)
    return True


def is_importing(name: str) -> bool:
    """Whether module ``name`` is in ``sys.modules`` but its code has not finished running."""
    with _lock:
        module = sys.modules.get(name)
        return module is not None and _initializing(module) and name not in _executed


def forget(name: str, callback: Callable[[ModuleType], None]) -> None:
    """Remove a callback added with :func:`when_imported` that has not run yet (no-op otherwise)."""
    with _lock:
        pending = _callbacks.get(name)
        if pending and callback in pending:
            pending.remove(callback)
            if not pending:
                del _callbacks[name]
        _drop_watcher_if_idle()


def _initializing(module: ModuleType) -> bool:
    return bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


def _drop_watcher_if_idle() -> None:
    # Caller holds _lock.
    if not _callbacks and _WATCHER in sys.meta_path:
        sys.meta_path.remove(_WATCHER)


def _fire(name: str, module: ModuleType) -> None:
    with _lock:
        _executed.add(name)
        pending = _callbacks.pop(name, [])
        _drop_watcher_if_idle()
    try:
        for callback in pending:
            callback(module)
    finally:
        with _lock:
            _executed.discard(name)


class _NotifyingLoader:
    """Wraps a watched module's loader: runs the module, then the callbacks for it."""

    def __init__(self, loader: Any, name: str) -> None:
        self._loader = loader
        self._name = name

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        # From here on the module shows its real loader (inspect, linecache, importlib.resources).
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        _fire(self._name, module)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._loader, attr)


class _Watcher:
    """A ``sys.meta_path`` finder that finds nothing itself: for a watched name it asks the
    finders after it and wraps the loader of the spec they return."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if fullname not in _callbacks:
            return None
        for finder in list(sys.meta_path):
            if finder is self:
                continue
            find_spec = getattr(finder, "find_spec", None)
            if find_spec is None:
                continue
            spec = find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _NotifyingLoader(spec.loader, fullname)
        return spec

    def invalidate_caches(self) -> None:
        pass


_WATCHER = _Watcher()
