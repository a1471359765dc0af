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

The watching itself is ``fast_serde._import_hook``'s (``when_imported``): it wraps only the
loaders of the watched modules and leaves ``sys.meta_path`` once nothing is watched. This module
is only the policy: which value of the variable means what, and what runs when.

This module lives outside ``fast_serde.langgraph`` because importing anything in that package
first imports the package itself, and with it LangGraph (it raises ImportError on a release
without the msgpack allowlist). For the same reason it imports ``fast_serde.langgraph`` only
inside the two callbacks, that is once the application has imported LangGraph itself.
"""

from __future__ import annotations

import _thread
import os

# Only what site has loaded already (warnings is imported where a warning is given) and two
# fast_serde modules that import nothing else: this module is imported at interpreter start-up
# whenever FAST_SERDE_INSTALL is set.
from fast_serde._import_hook import when_imported
from fast_serde._watched import CHECKPOINT_BASE, PINNING_MODULES, SERVER_SERDE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["ENV_VAR", "activate", "enabled"]

ENV_VAR = "FAST_SERDE_INSTALL"
"""The environment variable read at start-up."""

_ON = frozenset({"1", "true", "yes", "on"})
_OFF = frozenset({"", "0", "false", "no", "off"})  # keep in step with fast_serde_startup.pth

_lock = _thread.RLock()  # threading's RLock, without importing threading
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
    when_imported(CHECKPOINT_BASE, _install_quietly)
    when_imported(SERVER_SERDE, _patch_server_quietly)
    # Same for the modules whose savers pin a JsonPlusSerializer of their own: importing one of
    # them first imports the base, and install() then runs while their import is under way and
    # asks (when_imported) to patch them at its end. Watching them from here is what lets that
    # work; the callback itself has nothing to do (install() must not run inside install()).
    for name in PINNING_MODULES:
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
