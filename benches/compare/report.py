"""The text report: the rows of the table (:class:`Row`, :func:`build_rows`), the targets' status,
and the summary lines (fixtures, end to end, memory) that the terminal and docs/benchmarks.md
both show."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .rows import (
    R_E2E_DEFAULT,
    R_E2E_TRUSTED,
    R_LOADS_JSONPLUS,
    R_MEM_MALLOC_COLD,
    R_MEM_MALLOC_WARM,
    R_MEM_RSS_COLD,
    R_MEM_TRACEMALLOC,
    R_REVALIDATION,
    SPEED_ROWS,
    TABLE_HEADER,
    TARGET_SIZE,
    TARGETS,
)
from .timing import SizeResult


def fmt_time(seconds: float) -> str:
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def fmt_bytes(n: float) -> str:
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n:.0f} B"


def target_text(label: str) -> str:
    if label not in TARGETS:
        return "-"
    op, bound = TARGETS[label]
    return f"{op}{bound:g}x"


def target_met(label: str, value: float) -> bool | None:
    if label not in TARGETS:
        return None
    op, bound = TARGETS[label]
    return {">=": value >= bound, ">": value > bound, "<=": value <= bound}[op]


def status_text(label: str, value: float, size: str) -> str:
    met = target_met(label, value)
    if met is None:
        return ""
    if size in (TARGET_SIZE, "e2e"):
        return "MET" if met else "MISSED"
    return "(met)" if met else "(missed)"  # the targets are set at 200k; elsewhere for information


@dataclass
class Row:
    size: str
    label: str
    a: str
    b: str
    value: float | None  # the ratio the target applies to (pair alternation for the timed rows)
    ratio: str
    shuffled: str = ""  # the same ratio from the all-contender shuffled run ("cold caches")

    def cells(self) -> list[str]:
        status = "" if self.value is None else status_text(self.label, self.value, self.size)
        return [self.size, self.label, self.a, self.b, self.ratio, self.shuffled,
                target_text(self.label), status]


def build_rows(results: Sequence[SizeResult], e2e: Any | None) -> list[Row]:
    rows: list[Row] = []
    for r in results:
        m = r.medians
        for label, a, b in SPEED_ROWS:
            ta, tb = r.pairs[label]
            ratio = tb / ta
            rows.append(Row(r.size, label, fmt_time(ta), fmt_time(tb), ratio, f"{ratio:.2f}x",
                            f"{m[b] / m[a]:.2f}x"))
            if label == R_LOADS_JSONPLUS:
                rebuild, loads = r.pairs[R_REVALIDATION]
                shuffled = m["jsonplus.rebuild"] / m["jsonplus.loads_typed"]
                rows.append(
                    Row(
                        r.size,
                        R_REVALIDATION,
                        fmt_time(rebuild),
                        fmt_time(loads),
                        None,
                        f"{rebuild / loads:.0%}",
                        f"{shuffled:.0%}",
                    )
                )
        if r.memory:
            out = r.memory["output"]
            for label, key in (
                (R_MEM_TRACEMALLOC, "fast_tracemalloc"),
                (R_MEM_RSS_COLD, "fast_rss_cold"),
                (R_MEM_MALLOC_COLD, "fast_malloc_cold"),
                (R_MEM_MALLOC_WARM, "fast_malloc_warm"),
            ):
                if r.memory[key] is None:  # mallinfo2 unavailable
                    rows.append(Row(r.size, label, "n/a", fmt_bytes(out), None, "n/a"))
                    continue
                ratio = r.memory[key] / out
                rows.append(
                    Row(r.size, label, fmt_bytes(r.memory[key]), fmt_bytes(out), ratio,
                        f"{ratio:.2f}x")
                )
    if e2e is not None:
        base = e2e.median("JsonPlusSerializer")
        for label, key in (
            (R_E2E_DEFAULT, "FastSerializer()"),
            (R_E2E_TRUSTED, "FastSerializer(validate_models=False)"),
        ):
            median = e2e.median(key)
            rows.append(
                Row("e2e", label, fmt_time(median), fmt_time(base), base / median,
                    f"{base / median:.2f}x")
            )
    return rows


def format_table(rows: Sequence[Row]) -> str:
    cells = [list(TABLE_HEADER)] + [row.cells() for row in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(TABLE_HEADER))]
    left = {0, 1, 7}

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(w) if i in left else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths))
        ).rstrip()

    out = [line(cells[0]), line(["-" * w for w in widths])]
    previous = None
    for row, c in zip(rows, cells[1:]):
        if previous is not None and row.size != previous:
            out.append("")
        previous = row.size
        out.append(line(c))
    return "\n".join(out)


def target_summary(rows: Sequence[Row]) -> list[str]:
    """One line per target, evaluated at TARGET_SIZE (and on the e2e rows)."""
    lines = []
    for label in TARGETS:
        row = next((r for r in rows if r.label == label and r.size in (TARGET_SIZE, "e2e")), None)
        where = "e2e" if label.startswith("e2e") else TARGET_SIZE
        if row is None or row.value is None:
            lines.append(f"  n/a     {label} {target_text(label)} ({where} not measured)")
        else:
            met = target_met(label, row.value)
            lines.append(
                f"  {'met   ' if met else 'MISSED'}  {label} {target_text(label)}: "
                f"{row.ratio} at {where}"
            )
    return lines


def fixture_lines(results: Sequence[SizeResult]) -> list[str]:
    lines = []
    for r in results:
        lines.append(
            f"  {r.size:>4}: checkpoint {r.messages} messages, JsonPlus msgpack "
            f"{r.msgpack_bytes:,} B, pickle p5 {r.pickle_bytes:,} B; plain_state msgpack "
            f"{r.plain_bytes:,} B (msgspec same bytes: {'yes' if r.msgspec_same_bytes else 'no'}); "
            f"{r.rounds} rounds per pair, {r.shuffled_rounds} shuffled rounds"
        )
    return lines


def memory_lines(results: Sequence[SizeResult]) -> list[str]:
    lines = []
    for r in results:
        if not r.memory:
            continue
        mem, out = r.memory, r.memory["output"]

        def cell(key: str) -> str:
            value = mem[key]
            return "n/a" if value is None else f"{fmt_bytes(value)} ({value / out:.2f}x)"

        lines.append(
            f"  {r.size:>4}: output {fmt_bytes(out)}. JsonPlusSerializer: tracemalloc peak "
            f"{cell('ref_tracemalloc')}, RSS peak 1st call {cell('ref_rss_cold')}, malloc held "
            f"1st call {cell('ref_malloc_cold')}. FastSerializer: RSS peak warm "
            f"{cell('fast_rss_warm')}"
        )
    return lines


def e2e_lines(e2e: Any) -> list[str]:
    if e2e is None:
        return ["  not run (--quick or --no-e2e)"]
    lines = [
        f"  {e2e.turns} turns -> {e2e.messages} messages, {e2e.checkpoints} checkpoints per run; "
        f"median of {e2e.reps} alternating whole runs per serializer"
    ]
    for label, times in e2e.seconds.items():
        runs = ", ".join(f"{t:.2f}" for t in times)
        lines.append(f"  {label:<38} median {e2e.median(label):6.2f} s  (runs: {runs})")
    lines.append(
        f"  same conversation with every serializer: {'yes' if e2e.same_transcript else 'NO'}; "
        f"stored blobs re-checked (Fast bytes == JsonPlus bytes, equal loads): "
        f"{e2e.roundtrip_checked}, {'all equal' if e2e.roundtrip_ok else 'DIFFERENCES'}"
    )
    return lines
