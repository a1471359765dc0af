"""fast-serde: Python objects to MessagePack and back, natively.

`dumps`/`loads` walk plain data (None, bool, int, float, str, bytes, list, tuple, dict, ...)
straight into the output bytes (written in place), the same bytes as
`ormsgpack.packb(obj, option=OPT_NON_STR_KEYS | OPT_REPLACE_SURROGATES)`.
`fast_serde.langgraph.FastSerializer` is a drop-in, byte-compatible JsonPlusSerializer for
LangGraph checkpointers.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from fast_serde._native import MAX_DEPTH, MAX_TOTAL_DEPTH, DecodeError, EncodeError, dumps, loads
    from fast_serde._types import Ext

# Loaded on first use, so that `import fast_serde._startup` (the FAST_SERDE_INSTALL start-up hook,
# run in every interpreter of the environment when the variable is set) costs next to nothing:
# the native extension pulls in datetime, uuid and typing when it loads, and importlib.metadata
# (for __version__) costs tens of milliseconds.
_NATIVE = frozenset({"MAX_DEPTH", "MAX_TOTAL_DEPTH", "DecodeError", "EncodeError", "dumps", "loads"})


def __getattr__(name: str) -> object:
    if name in _NATIVE:
        from fast_serde import _native

        value = getattr(_native, name)
    elif name == "Ext":
        from fast_serde._types import Ext as value
    elif name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("fast-serde")
        except PackageNotFoundError:  # running from a source tree without metadata
            value = "0.0.0"
    else:
        raise AttributeError(f"module 'fast_serde' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = ["MAX_DEPTH", "MAX_TOTAL_DEPTH", "DecodeError", "EncodeError", "Ext", "dumps", "loads", "__version__"]
