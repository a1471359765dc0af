"""Zero-code activation: ``FAST_SERDE_INSTALL=1`` makes ``fast_serde.langgraph.install()`` take
effect in every Python process that inherits the variable.

The wheel ships ``fast_serde_startup.pth``. Python's ``site`` runs its one line at start-up; with
the variable unset, empty or one of ``0 false no off`` (any case) that line only reads
``os.environ`` (``os`` is already imported by then) and imports nothing. Otherwise it imports this
module and calls :func:`activate`, which imports no LangGraph module either: it puts a watcher on
``sys.meta_path`` and returns. Then:

* When ``langgraph.checkpoint.base`` has finished importing (it defines ``BaseCheckpointSaver``,
  so no saver exists yet), ``install()`` runs (with ``compression="zstd"`` when
  ``FAST_SERDE_COMPRESSION`` is ``zstd`` or ``zstd:LEVEL``; any other non-empty value is reported
  as the ``RuntimeWarning`` below): see ``fast_serde.langgraph._install`` for exactly
  what it patches. If that module is already imported, ``install()`` runs at once. The SQLite
  saver modules are watched too: when one of them is what imported the base, its pinned
  ``JsonPlusSerializer`` global is patched at the end of its own import.
* When ``langgraph_api.serde`` (LangGraph Server) has finished importing, its ``Serializer`` is
  replaced as ``fast_serde.langgraph._server`` describes, before the server builds its
  checkpointer.

A failure inside those steps never breaks the import that triggered it: it is reported as one
``RuntimeWarning`` and LangGraph keeps its own serializer.

The watcher (``when_imported``) wraps only the loaders of the watched modules, restores the
original loader on the module before it executes, and removes itself from ``sys.meta_path`` once
nothing is watched.

This module lives outside ``fast_serde.langgraph`` because importing anything in that package
first imports the package itself, and with it LangGraph (it raises ImportError on a release
without the msgpack allowlist). For the same reason it imports ``fast_serde.langgraph`` only
inside the two callbacks, that is once the application has imported LangGraph itself.
"""

from __future__ import annotations

import _thread
import os
import sys

# Only what site has loaded already (warnings is imported where a warning is given): this module
# is imported at interpreter start-up whenever FAST_SERDE_INSTALL is set.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any

__all__ = ["ENV_VAR", "activate", "enabled", "forget", "is_importing", "when_imported"]

ENV_VAR = "FAST_SERDE_INSTALL"
"""The environment variable read at start-up."""

_ON = frozenset({"1", "true", "yes", "on"})
_OFF = frozenset({"", "0", "false", "no", "off"})  # keep in step with fast_serde_startup.pth

_lock = _thread.RLock()  # threading's RLock, without importing threading
_callbacks: dict[str, list[Callable[[ModuleType], None]]] = {}
# Watched modules whose code has run and whose callbacks are running (their import is ending).
_executed: set[str] = set()
_activated = False


def enabled(value: str | None) -> bool | None:
    """How a value of ``FAST_SERDE_INSTALL`` is read.

    Args:
        value: the variable's value, or None when it is unset.

    Returns:
        True for ``1 true yes on``, False for unset, empty or ``0 false no off`` (case and
        surrounding blanks ignored), None for anything else.
    """
    word = (value or "").strip().lower()
    if word in _ON:
        return True
    if word in _OFF:
        return False
    return None


def activate() -> None:
    """What the ``.pth`` hook calls when ``FAST_SERDE_INSTALL`` is set: arrange for ``install()``
    to run as soon as LangGraph's checkpoint base or LangGraph Server's serde is imported.

    Idempotent. Imports nothing from LangGraph.

    Returns:
        None. An unrecognised value of the variable is reported as one ``RuntimeWarning`` and
        nothing is activated; a false value does nothing.
    """
    global _activated
    state = enabled(os.environ.get(ENV_VAR))
    if state is None:
        import warnings

        warnings.warn(
            f"fast-serde: the value of {ENV_VAR}={os.environ.get(ENV_VAR)!r} is not understood "
            "(expected one of 1/true/yes/on or 0/false/no/off), so FastSerializer was not "
            "put in place of JsonPlusSerializer; the fast-serde package itself is installed",
            RuntimeWarning,
            stacklevel=2,
        )
        return
    if not state:
        return
    with _lock:
        if _activated:
            return
        _activated = True
    # The server's serde module is watched from the very start: install() may first run while
    # that module is still being imported (it imports LangGraph), and then it can only be patched
    # at the end of that import.
    when_imported("langgraph.checkpoint.base", _install_quietly)
    when_imported("langgraph_api.serde", _patch_server_quietly)
    # Same for the modules whose savers pin a JsonPlusSerializer of their own: importing one of
    # them first imports the base, and install() then runs while their import is under way and
    # asks (when_imported) to patch them at its end. Watching them from here is what lets that
    # work; the callback itself has nothing to do (install() must not run inside install()).
    for name in ("langgraph.checkpoint.sqlite", "langgraph.checkpoint.sqlite.aio"):
        when_imported(name, _nothing)


def _nothing(_module: ModuleType) -> None:
    pass


def _install_quietly(_module: ModuleType) -> None:
    try:
        from fast_serde.langgraph._compression import from_env
        from fast_serde.langgraph._install import install

        install(**from_env())
    except Exception as exc:  # an import of the user's must not fail because of us
        _warn_failed("install()", exc)


def _patch_server_quietly(module: ModuleType) -> None:
    try:
        from fast_serde.langgraph import _server

        _server.on_serde_imported(module)
    except Exception as exc:
        _warn_failed("patching langgraph_api.serde", exc)


def _warn_failed(what: str, exc: Exception) -> None:
    import warnings

    warnings.warn(
        f"fast-serde: {ENV_VAR} is set but {what} failed ({type(exc).__name__}: {exc}); "
        "LangGraph keeps its own serializer",
        RuntimeWarning,
        stacklevel=3,
    )


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
