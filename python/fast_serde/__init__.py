"""fast-serde: Python objects to MessagePack and back, natively.

`dumps`/`loads` walk plain data (None, bool, int, float, str, bytes, list, tuple, dict, ...)
straight into the output bytes (written in place), the same bytes as
`ormsgpack.packb(obj, option=OPT_NON_STR_KEYS | OPT_REPLACE_SURROGATES)`.
`fast_serde.langgraph.FastSerializer` is a drop-in, byte-compatible JsonPlusSerializer for
LangGraph checkpointers.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from fast_serde._native import MAX_DEPTH, MAX_TOTAL_DEPTH, DecodeError, EncodeError, dumps, loads
from fast_serde._types import Ext

try:
    __version__ = version("fast-serde")
except PackageNotFoundError:  # running from a source tree without metadata
    __version__ = "0.0.0"

__all__ = ["MAX_DEPTH", "MAX_TOTAL_DEPTH", "DecodeError", "EncodeError", "Ext", "dumps", "loads", "__version__"]
