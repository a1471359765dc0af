"""Opt-in zstd compression of ``FastSerializer``'s MessagePack blobs (docs/usage.md, "Compressed
checkpoints").

The format: a MessagePack document of at least ``compression_min_bytes`` bytes is written as one
zstd frame (RFC 8878, by libzstd through the Rust ``zstd`` crate: crates/fast-serde-core/src/
compress.rs) whose header declares the content size and which ends with the content checksum,
under the type tag :data:`TAG` (``"msgpack-zstd"``). Anything else keeps the ``"msgpack"`` tag and
JsonPlusSerializer's bytes: smaller documents, a frame that would not be smaller, and a document
larger than the reader's own ``max_decompressed_bytes`` (so a writer never writes what it would
refuse to read).

Why a type tag of its own: JsonPlusSerializer reads the first MessagePack value of a ``"msgpack"``
blob and ignores what follows, so a zstd frame under ``"msgpack"`` would read as the integer 40
(its first byte, 0x28): silent data loss. Under :data:`TAG`, every reader that does not know it
raises ``NotImplementedError: Unknown serialization type`` instead. The tag has no ``+``: the
stock ``EncryptedSerializer`` splits its tag at the first ``+`` (``"msgpack-zstd+aes"`` reads
back as cipher ``aes`` around ``"msgpack-zstd"``).

Every ``FastSerializer`` reads :data:`TAG`, whether or not it writes it, so a fleet can turn
writing on (and back off) one worker at a time.
"""

from __future__ import annotations

import os
import re
from typing import Any

from fast_serde import _native

__all__ = [
    "COMPRESSIONS",
    "DEFAULT_LEVEL",
    "DEFAULT_MAX_DECOMPRESSED_BYTES",
    "DEFAULT_MIN_BYTES",
    "ENV_VAR",
    "TAG",
    "Zstd",
    "decompress",
    "from_env",
    "settings",
]

TAG = "msgpack-zstd"
"""The type tag of a zstd-compressed MessagePack blob (no ``+``: see the module docstring)."""

COMPRESSIONS = ("zstd",)
"""The values ``compression=`` accepts besides None."""

DEFAULT_LEVEL = _native.ZSTD_DEFAULT_LEVEL
"""The compression level by default: 1, zstd's fastest standard level (frames within 1-2 % of
level 3's on agent checkpoints, 20-30 % faster; docs/benchmarks.md, "Storage")."""

DEFAULT_MIN_BYTES = 1024
"""Documents shorter than this (bytes) are written uncompressed."""

DEFAULT_MAX_DECOMPRESSED_BYTES = _native.ZSTD_DEFAULT_MAX_SIZE
"""The largest content size (bytes) a frame may declare to be read: 256 MiB, about 100 times the
largest checkpoint blob of a 150-turn agent thread (docs/benchmarks.md, "Storage")."""

_MAX_DECLARABLE = 2**64 - 1
"""The largest content size a frame header can declare (Frame_Content_Size is at most 8 bytes,
RFC 8878 section 3.1.1.1.4); a ``max_decompressed_bytes`` above it refuses nothing more."""

ENV_VAR = "FAST_SERDE_COMPRESSION"
"""Read by ``FAST_SERDE_INSTALL``'s start-up hook: ``zstd`` or ``zstd:LEVEL`` (see :func:`from_env`)."""


# A level in FAST_SERDE_COMPRESSION: ASCII digits, one optional minus sign.
_LEVEL = re.compile(r"-?[0-9]+")


class Zstd:
    """The write side of ``compression="zstd"``: frozen settings and :meth:`dumps`.

    Attributes:
        level (int): zstd compression level, ``_native.ZSTD_MIN_LEVEL`` .. ``ZSTD_MAX_LEVEL``.
        min_bytes (int): documents shorter than this many bytes stay uncompressed.
        max_bytes (int): documents longer than this (the serializer's
            ``max_decompressed_bytes``) stay uncompressed.
    """

    __slots__ = ("level", "max_bytes", "min_bytes")

    def __init__(self, level: int, min_bytes: int, max_bytes: int) -> None:
        self.level = level
        self.min_bytes = min_bytes
        self.max_bytes = max_bytes

    def dumps(self, data: bytes) -> tuple[str, bytes]:
        """``(TAG, frame)`` for a MessagePack document ``data`` worth compressing, else
        ``("msgpack", data)`` unchanged. The GIL is released while compressing."""
        n = len(data)
        if n < self.min_bytes or n > self.max_bytes:
            return "msgpack", data
        frame = _native.zstd_compress(data, self.level)
        if len(frame) >= n:
            return "msgpack", data
        return TAG, frame

    def __reduce__(self) -> tuple[type[Zstd], tuple[int, int, int]]:
        # Pickled by its arguments on every protocol (a __slots__ class without it refuses 0 and 1).
        return Zstd, (self.level, self.min_bytes, self.max_bytes)

    def __repr__(self) -> str:
        return f"Zstd(level={self.level}, min_bytes={self.min_bytes}, max_bytes={self.max_bytes})"


def int_setting(name: str, value: Any) -> int:
    """``value`` when it is an int (not a bool); else TypeError naming the setting. FastSerializer's
    int arguments (these, ``memo_bytes``) are checked by it."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


def settings(
    compression: str | None,
    level: int | None,
    min_bytes: int | None,
    max_decompressed_bytes: int | None,
) -> tuple[Zstd | None, int]:
    """Check ``FastSerializer``'s compression arguments.

    Returns:
        ``(writer, max_decompressed_bytes)``: a :class:`Zstd` for ``compression="zstd"``, None
        for ``compression=None``; the read limit in bytes (the default when None; any int
        >= 1, one over 2**64 - 1, which no frame header can declare, reads as 2**64 - 1).

    Raises:
        ValueError: an unknown ``compression``, a level outside zstd's range, a negative
            ``min_bytes``, a ``max_decompressed_bytes`` below 1, or ``level``/``min_bytes``
            given without ``compression``.
        TypeError: a setting that is not an int.
    """
    limit = (
        DEFAULT_MAX_DECOMPRESSED_BYTES
        if max_decompressed_bytes is None
        else int_setting("max_decompressed_bytes", max_decompressed_bytes)
    )
    if limit < 1:
        raise ValueError(f"max_decompressed_bytes must be >= 1, not {limit}")
    if compression is None:
        if level is not None or min_bytes is not None:
            raise ValueError("compression_level and compression_min_bytes need compression='zstd'")
        return None, limit
    if compression not in COMPRESSIONS:
        raise ValueError(f"compression must be None or 'zstd', not {compression!r}")
    level = DEFAULT_LEVEL if level is None else int_setting("compression_level", level)
    if not _native.ZSTD_MIN_LEVEL <= level <= _native.ZSTD_MAX_LEVEL:
        raise ValueError(
            f"compression_level must be in {_native.ZSTD_MIN_LEVEL}..{_native.ZSTD_MAX_LEVEL} "
            f"(zstd's levels), not {level}"
        )
    min_bytes = DEFAULT_MIN_BYTES if min_bytes is None else int_setting("compression_min_bytes", min_bytes)
    if min_bytes < 0:
        raise ValueError(f"compression_min_bytes must be >= 0, not {min_bytes}")
    return Zstd(level, min_bytes, limit), limit


def decompress(frame: Any, max_decompressed_bytes: int) -> bytes:
    """The MessagePack document inside a :data:`TAG` blob (bytes-like ``frame``).

    ``frame`` is checked as ormsgpack's ``unpackb`` checks ``"msgpack"`` data (what
    JsonPlusSerializer's ``loads_typed`` applies): an exact ``bytes`` or ``bytearray``, or a
    C-contiguous ``memoryview``.

    Raises:
        ValueError: ``frame`` is no such buffer, with ormsgpack's messages (``"Input must be
            bytes, bytearray, memoryview"``; ``"Input type memoryview must be a C contiguous
            buffer"``). An int is never taken as a size (``bytes(n)``).
        fast_serde.DecodeError: (a ValueError, ``.offset`` in ``frame``) naming why the frame is
            refused: not a zstd frame, truncated, corrupt (checksum), no declared content size,
            a declared size over ``max_decompressed_bytes``, trailing bytes, or content of
            another size than declared. Nothing of the declared size is reserved before the
            header and the frame's extent are checked.
    """
    if type(frame) is not bytes:
        frame = _buffer_bytes(frame)
    # No frame declares more than 2**64 - 1 bytes: a larger limit is that one.
    return _native.zstd_decompress(frame, min(max_decompressed_bytes, _MAX_DECLARABLE))


def _buffer_bytes(data: Any) -> bytes:
    """``data`` as bytes when ormsgpack's ``unpackb`` would read it (crates/fast-serde-core/src/
    langgraph/codec.rs ``check_input`` mirrors the same rule), else its ValueError."""
    if type(data) is bytearray:
        return bytes(data)
    if not isinstance(data, memoryview):
        raise ValueError("Input must be bytes, bytearray, memoryview")
    try:
        contiguous = data.c_contiguous
    except ValueError:  # a released view
        contiguous = False
    if not contiguous:
        raise ValueError("Input type memoryview must be a C contiguous buffer")
    return data.tobytes()


def from_env(value: str | None = None) -> dict[str, Any]:
    """The ``install()`` keywords that ``FAST_SERDE_COMPRESSION`` asks for.

    Args:
        value: the variable's value (default: read from ``os.environ``). Unset or empty: no
            compression; ``zstd``: zstd at :data:`DEFAULT_LEVEL`; ``zstd:LEVEL``: at that level
            (ASCII digits with an optional minus sign; case and surrounding blanks are ignored).

    Returns:
        ``{}`` or ``{"compression": "zstd"[, "compression_level": LEVEL]}``.

    Raises:
        ValueError: any other value.
    """
    raw = os.environ.get(ENV_VAR, "") if value is None else value
    word = raw.strip().lower()
    if not word:
        return {}
    name, _, level = word.partition(":")
    if name != "zstd" or (level and not _LEVEL.fullmatch(level)):
        raise ValueError(f"{ENV_VAR}={raw!r} is not 'zstd' or 'zstd:LEVEL'")
    out: dict[str, Any] = {"compression": "zstd"}
    if level:
        out["compression_level"] = int(level)
    return out
