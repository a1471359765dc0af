"""fast-serde: Python objects to MessagePack and back, natively.

`dumps`/`loads` walk plain data (None, bool, int, float, str, bytes, list, tuple, dict, ...)
straight into the output bytes (written in place), the same bytes as
`ormsgpack.packb(obj, option=OPT_NON_STR_KEYS | OPT_REPLACE_SURROGATES)`.
`fast_serde.langgraph.FastSerializer` is a drop-in, byte-compatible JsonPlusSerializer for
LangGraph checkpointers.
"""

from __future__ import annotations

from typing import Any

from fast_serde._native import MAX_DEPTH, MAX_TOTAL_DEPTH, DecodeError, EncodeError, dumps, loads
from fast_serde._types import Ext


def __getattr__(name: str) -> Any:
    # `__version__` is looked up on first use: importlib.metadata costs tens of milliseconds,
    # which the FAST_SERDE_INSTALL start-up hook (fast_serde._startup) must not add to every
    # interpreter start.
    global __version__
    if name != "__version__":
        raise AttributeError(f"module 'fast_serde' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        __version__ = version("fast-serde")
    except PackageNotFoundError:  # running from a source tree without metadata
        __version__ = "0.0.0"
    return __version__

__all__ = ["MAX_DEPTH", "MAX_TOTAL_DEPTH", "DecodeError", "EncodeError", "Ext", "dumps", "loads", "__version__"]
