"""The demo's comparison: FastSerializer against JsonPlusSerializer on a thread's checkpoints.

:func:`stored_checkpoints` reads every checkpoint of a thread back from ``SqliteSaver``
(``saver.list`` plus the raw blobs); :func:`compare` checks that both serializers write identical
bytes and read back equal checkpoints, and times ``dumps_typed`` and ``loads_typed`` per
checkpoint (measured alternately in this process, median of :data:`TIMING_ROUNDS` rounds);
:func:`format_table` prints the rows. Timings are printed, never asserted.
"""

from __future__ import annotations

import statistics
import timeit
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from fast_serde.langgraph import FastSerializer

__all__ = [
    "TABLE_HEADER",
    "TIMING_ROUNDS",
    "Group",
    "Stored",
    "compare",
    "format_table",
    "stored_checkpoints",
]

TIMING_ROUNDS = 5
"""Alternating timing rounds per serializer; the table shows their median."""
TABLE_GROUPS = 4
"""The checkpoints are reported in this many chronological groups plus a total."""


@dataclass
class Stored:
    """One checkpoint as the demo's saver stored it."""

    messages: int
    blob: tuple[str, bytes]  # (type, bytes) as FastSerializer wrote it during the run


def stored_checkpoints(saver: SqliteSaver, thread: str) -> list[Stored]:
    """Oldest first: every checkpoint of ``thread``, listed by ``saver.list``,
    with the raw blob of the ``checkpoints`` table."""
    tuples = list(saver.list({"configurable": {"thread_id": thread}}))[::-1]
    with saver.cursor(transaction=False) as cur:
        cur.execute(
            "SELECT checkpoint_id, type, checkpoint FROM checkpoints WHERE thread_id = ?",
            (thread,),
        )
        blobs = {cid: (type_, bytes(blob)) for cid, type_, blob in cur}
    return [
        Stored(
            messages=len(t.checkpoint["channel_values"].get("messages", [])),
            blob=blobs[t.config["configurable"]["checkpoint_id"]],
        )
        for t in tuples
    ]


def _median_seconds_per_item(
    serializers: Sequence[Any], op: Callable[[Any, Any], Any], items: Sequence[Any]
) -> tuple[float, ...]:
    """Seconds per item of ``op(serializer, item)`` over ``items`` for each
    serializer, timed alternately A, B, A, B, ... (GC off, via ``timeit``);
    returns the median over :data:`TIMING_ROUNDS` rounds, one per serializer."""
    rounds: list[list[float]] = [[] for _ in serializers]
    for _ in range(TIMING_ROUNDS):
        for times, serde in zip(rounds, serializers):
            timer = timeit.Timer(lambda: [op(serde, item) for item in items])
            times.append(timer.timeit(number=1) / len(items))
    return tuple(statistics.median(times) for times in rounds)


def _chunks(n: int, k: int) -> list[range]:
    """Split ``range(n)`` into at most ``k`` consecutive, non-empty, near-equal ranges."""
    bounds = [round(i * n / k) for i in range(k + 1)]
    return [range(lo, hi) for lo, hi in zip(bounds, bounds[1:]) if hi > lo]


@dataclass
class Group:
    """One table row: a run of consecutive checkpoints."""

    label: str
    messages: str  # message counts of its first and last checkpoint
    n: int
    nbytes: int
    dumps: tuple[float, ...]  # seconds per checkpoint: (FastSerializer, JsonPlusSerializer)
    loads: tuple[float, ...]
    same_bytes: int
    same_state: int

    def cells(self) -> list[str]:
        def us(seconds: float) -> str:
            return f"{seconds * 1e6:,.1f}"

        (dumps_fast, dumps_ref), (loads_fast, loads_ref) = self.dumps, self.loads
        return [
            self.label, self.messages, f"{self.nbytes:,}",
            us(dumps_fast), us(dumps_ref), f"{dumps_ref / dumps_fast:.2f}x",
            us(loads_fast), us(loads_ref), f"{loads_ref / loads_fast:.2f}x",
            f"{self.same_bytes}/{self.n}", f"{self.same_state}/{self.n}",
        ]


TABLE_HEADER = (
    "checkpoints", "messages", "bytes",
    "dumps fast", "dumps jsonplus", "speed-up",
    "loads fast", "loads jsonplus", "speed-up",
    "same bytes", "same state",
)
"""Column titles of the comparison table (times in microseconds per checkpoint)."""


def compare(stored: list[Stored]) -> tuple[list[Group], bool, str]:
    """Check and time both serializers on ``stored`` (non-empty).

    Returns the table rows (:data:`TABLE_GROUPS` chronological groups, then
    the total), whether every checkpoint matched, and a line on the blobs
    stored during the runs.
    """
    fast, ref = FastSerializer(), JsonPlusSerializer()
    blobs = [s.blob for s in stored]
    loaded_fast = [fast.loads_typed(b) for b in blobs]
    loaded_ref = [ref.loads_typed(b) for b in blobs]
    same_state = [a == b for a, b in zip(loaded_fast, loaded_ref)]
    dumped_ref = [ref.dumps_typed(c) for c in loaded_ref]
    same_bytes = [fast.dumps_typed(c) == d for c, d in zip(loaded_ref, dumped_ref)]
    # The blobs FastSerializer wrote inside the graph runs vs JsonPlusSerializer's
    # encoding of what they read back as (byte-stable round trip for these states).
    stored_same = sum(blob == d for blob, d in zip(blobs, dumped_ref))
    stored_line = (
        "checkpoint blobs FastSerializer wrote during the runs, identical to "
        f"JsonPlusSerializer's bytes for them: {stored_same}/{len(blobs)}"
    )

    groups = []
    for chunk in _chunks(len(stored), TABLE_GROUPS):
        first, last = chunk[0], chunk[-1]
        groups.append(
            Group(
                label=f"{first + 1}-{last + 1}",
                messages=f"{stored[first].messages}-{stored[last].messages}",
                n=len(chunk),
                nbytes=sum(len(blobs[i][1]) for i in chunk),
                dumps=_median_seconds_per_item(
                    (fast, ref), lambda s, obj: s.dumps_typed(obj), [loaded_ref[i] for i in chunk]
                ),
                loads=_median_seconds_per_item(
                    (fast, ref), lambda s, blob: s.loads_typed(blob), [blobs[i] for i in chunk]
                ),
                same_bytes=sum(same_bytes[i] for i in chunk),
                same_state=sum(same_state[i] for i in chunk),
            )
        )
    n = len(stored)

    def mean(times: Callable[[Group], tuple[float, ...]]) -> tuple[float, ...]:
        return tuple(sum(times(g)[i] * g.n for g in groups) / n for i in (0, 1))

    groups.append(
        Group(
            label=f"all {n}",
            messages=f"{stored[0].messages}-{stored[-1].messages}",
            n=n,
            nbytes=sum(g.nbytes for g in groups),
            dumps=mean(lambda g: g.dumps),
            loads=mean(lambda g: g.loads),
            same_bytes=sum(same_bytes),
            same_state=sum(same_state),
        )
    )
    ok = all(same_bytes) and all(same_state) and stored_same == n
    return groups, ok, stored_line


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 2) -> str:
    """Plain-text table: the first ``left`` columns left-aligned, the rest right-aligned."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [
            cell.ljust(w) if i < left else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths))
        ]
        return "  ".join(cells).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])
