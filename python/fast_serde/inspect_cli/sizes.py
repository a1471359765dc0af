"""``fast-serde inspect --sizes``: where the bytes of a checkpoint store go, and what zstd would save.

Every stored value of the store (:meth:`Store.blobs`: SQLite's whole checkpoints and pending
writes; PostgreSQL's checkpoint rows, ``checkpoint_blobs`` and ``checkpoint_writes``) is counted
once, per thread and namespace, and per channel:

* ``stored``: its bytes as stored (for a PostgreSQL checkpoint row, its JSON text);
* ``compressed``: the stored bytes of the values that are zstd frames already
  (``"msgpack-zstd"``, encrypted or not);
* ``msgpack``: the bytes of the values once decrypted and decompressed: what
  JsonPlusSerializer would store;
* ``with_zstd``: what would be stored with ``FastSerializer(compression="zstd")`` and its
  defaults (level 1, documents of 1 KiB and more, only when smaller; the encryption's own bytes
  kept): the value as it is for a frame, else the MessagePack compressed here.

Per channel: a PostgreSQL blob or a pending write is one channel's value; a SQLite checkpoint
holds every channel's value inline (``channel_values``), so each is measured as its own
MessagePack (its bytes inside the checkpoint) and compressed alone. Encrypted values are read with
the key ``LANGGRAPH_AES_KEY`` (as ``EncryptedSerializer.from_pycryptodome_aes`` takes it); without
it they count as ``unread`` (their stored bytes still count).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import fast_serde
from fast_serde import _native

from .stores import BlobRow, ReadingSerde

__all__ = ["ChannelSize", "Sizes", "ThreadSize", "measure"]


class ThreadSize(NamedTuple):
    """The values of one thread in one namespace; byte counts as in the module docstring."""

    thread_id: str
    checkpoint_ns: str
    values: int
    stored: int
    compressed: int
    msgpack: int
    with_zstd: int
    unread: int


class ChannelSize(NamedTuple):
    """The values of one channel of one thread in one namespace (bytes as in the module docs)."""

    thread_id: str
    checkpoint_ns: str
    channel: str
    values: int
    msgpack: int
    with_zstd: int


class Sizes(NamedTuple):
    """``threads`` (largest ``stored`` first) and ``channels`` (largest ``msgpack`` first)."""

    threads: list[ThreadSize]
    channels: list[ChannelSize]


def _with_zstd(writer: Any, document: bytes) -> int:
    return len(writer.dumps(document)[1])


def measure(rows: Iterable[BlobRow], serde: ReadingSerde) -> Sizes:
    """Count ``rows`` (from ``Store.blobs``) per thread and per channel.

    Args:
        rows: the stored values.
        serde: the store's :class:`ReadingSerde` (decrypts with ``LANGGRAPH_AES_KEY``).

    Returns:
        :class:`Sizes`. A value that cannot be read (encrypted without the key, a refused
        zstd frame, malformed MessagePack) counts in ``stored`` and ``unread`` only.
    """
    # Imported here: fast_serde.langgraph needs LangGraph, which `inspect --help` does not.
    from fast_serde.langgraph import _compression

    writer = _compression.Zstd(
        _compression.DEFAULT_LEVEL,
        _compression.DEFAULT_MIN_BYTES,
        _compression.DEFAULT_MAX_DECOMPRESSED_BYTES,
    )
    threads: dict[tuple[str, str], list[int]] = {}
    channels: dict[tuple[str, str, str], list[int]] = {}

    def channel(row: BlobRow, name: str, document: bytes) -> None:
        entry = channels.setdefault((row.thread_id, row.checkpoint_ns, name), [0, 0, 0])
        entry[0] += 1
        entry[1] += len(document)
        entry[2] += _with_zstd(writer, document)

    for row in rows:
        # values, stored, compressed, msgpack, with_zstd, unread
        entry = threads.setdefault((row.thread_id, row.checkpoint_ns), [0, 0, 0, 0, 0, 0])
        entry[0] += 1
        entry[1] += len(row.data)
        tag = row.type_tag or ""
        if tag.split("+", 1)[0] == _compression.TAG:
            entry[2] += len(row.data)
        try:
            tag, plain = serde.plain(tag, row.data)
            overhead = len(row.data) - len(plain)
            if tag == _compression.TAG:
                document = _compression.decompress(plain, _compression.DEFAULT_MAX_DECOMPRESSED_BYTES)
                zstd = len(row.data)
            elif tag == "msgpack":
                document = plain
                zstd = overhead + _with_zstd(writer, document)
            else:  # json, bytes, null, empty, PostgreSQL's JSONB checkpoint row: as they are
                document = plain
                zstd = len(row.data)
        except Exception:
            entry[5] += 1
            entry[3] += len(row.data)
            entry[4] += len(row.data)
            continue
        entry[3] += len(document)
        entry[4] += zstd
        if row.channel is not None:
            channel(row, row.channel, document)
        elif tag in ("msgpack", _compression.TAG):
            for name, value in _channel_values(document):
                channel(row, name, value)
    return Sizes(
        sorted(
            (ThreadSize(t, ns, *counts) for (t, ns), counts in threads.items()),
            key=lambda r: (-r.stored, r.thread_id, r.checkpoint_ns),
        ),
        sorted(
            (ChannelSize(t, ns, ch, *counts) for (t, ns, ch), counts in channels.items()),
            key=lambda r: (-r.msgpack, r.thread_id, r.checkpoint_ns, r.channel),
        ),
    )


def _channel_values(document: bytes) -> list[tuple[str, bytes]]:
    """Each channel value of a MessagePack checkpoint, as its own MessagePack bytes (ext values
    are kept as their raw payloads: no class is imported or built). Empty when ``document`` is
    not a checkpoint map."""
    try:
        checkpoint: Any = fast_serde.loads(document, ext_hook=_keep_ext)
    except fast_serde.DecodeError:
        return []
    values = checkpoint.get("channel_values") if isinstance(checkpoint, dict) else None
    if not isinstance(values, dict):
        return []
    out = []
    for name, value in values.items():
        try:
            out.append((str(name), _native.dumps(value)))
        except fast_serde.EncodeError:
            continue
    return out


def _keep_ext(code: int, data: bytes) -> Any:
    from fast_serde._types import Ext

    return Ext(code, data)
