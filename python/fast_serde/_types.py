"""Plain Python types the native module builds and recognises (kept free of imports of `_native`)."""

from __future__ import annotations

from typing import NamedTuple


class Ext(NamedTuple):
    """A MessagePack extension value: `code` (int, -128..127) and its payload `data` (bytes).

    `fast_serde.loads` returns one for every ext type but the timestamp (-1) when no `ext_hook`
    is given; `fast_serde.dumps` writes one as fixext1/2/4/8/16, ext8, ext16 or ext32, whichever is
    smallest for `len(data)` (MessagePack spec, "ext format family").
    """

    code: int
    data: bytes
