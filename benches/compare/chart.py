"""docs/benchmarks.png: the speed-ups per size against their targets, the end-to-end ratios,
and the memory ratios (matplotlib, Agg backend; imported only when the chart is written)."""

from __future__ import annotations

from collections.abc import Sequence

from . import ROOT
from .report import Row
from .rows import (
    R_DUMPS_DEEPCOPY,
    R_DUMPS_JSONPLUS,
    R_DUMPS_PICKLE,
    R_E2E_DEFAULT,
    R_E2E_TRUSTED,
    R_LOADS_JSONPLUS,
    R_MEM_MALLOC_COLD,
    R_MEM_MALLOC_WARM,
    R_MEM_RSS_COLD,
    R_MEM_TRACEMALLOC,
    R_PLAIN_DUMPS_MSGSPEC,
    R_PLAIN_DUMPS_ORMSGPACK,
    R_PLAIN_LOADS_MSGSPEC,
    R_PLAIN_LOADS_ORMSGPACK,
    R_TRUSTED_JSONPLUS,
    R_TRUSTED_PICKLE,
    SPEED_ROWS,
    TARGET_SIZE,
    TARGETS,
)
from .timing import SizeResult

DOCS_PNG = ROOT / "docs" / "benchmarks.png"


def write_chart(rows: Sequence[Row], results: Sequence[SizeResult]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    speed_labels = [label for label, _, _ in SPEED_ROWS]
    short = {
        R_DUMPS_JSONPLUS: "dumps\nvs JsonPlus",
        R_DUMPS_PICKLE: "dumps\nvs pickle",
        R_DUMPS_DEEPCOPY: "dumps\nvs deepcopy",
        R_LOADS_JSONPLUS: "loads\nvs JsonPlus",
        R_TRUSTED_JSONPLUS: "trusted loads\nvs JsonPlus",
        R_TRUSTED_PICKLE: "trusted loads\nvs pickle",
        R_PLAIN_DUMPS_ORMSGPACK: "plain dumps\nvs ormsgpack",
        R_PLAIN_DUMPS_MSGSPEC: "plain dumps\nvs msgspec",
        R_PLAIN_LOADS_ORMSGPACK: "plain loads\nvs ormsgpack",
        R_PLAIN_LOADS_MSGSPEC: "plain loads\nvs msgspec",
    }
    sizes = [r.size for r in results]
    value = {(row.size, row.label): row.value for row in rows}
    fig, (ax, ax_e2e, ax_mem) = plt.subplots(
        1, 3, figsize=(17, 5.8), gridspec_kw={"width_ratios": [6, 1.3, 1.6]}
    )
    width = 0.8 / max(1, len(sizes))
    shades = [0.15 + 0.7 * i / max(1, len(sizes) - 1) for i in range(len(sizes))]
    colors = plt.get_cmap("viridis")(shades)
    for i, size in enumerate(sizes):
        xs = [j + (i - (len(sizes) - 1) / 2) * width for j in range(len(speed_labels))]
        ys = [value.get((size, label)) or float("nan") for label in speed_labels]
        ax.bar(xs, ys, width, label=size, color=colors[i])
    for j, label in enumerate(speed_labels):
        if label in TARGETS:
            bound = TARGETS[label][1]
            ax.hlines(bound, j - 0.45, j + 0.45, colors="crimson", linestyles="--", linewidth=1.6)
            ax.annotate(f"{bound:g}x", (j + 0.45, bound), fontsize=7, color="crimson",
                        ha="right", va="bottom")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(speed_labels)), [short[label] for label in speed_labels], fontsize=8)
    ax.set_ylabel("speed-up of fast-serde (anchor time / fast-serde time, log)")
    ax.set_title(f"Speed-ups per size (targets at {TARGET_SIZE}: red dashes)")
    ax.legend(title="size", fontsize=8)
    ax.grid(axis="y", which="both", alpha=0.3)

    e2e_labels = [(R_E2E_DEFAULT, "FastSerializer()"), (R_E2E_TRUSTED, "validate_models\n=False")]
    ys = [value.get(("e2e", label)) for label, _ in e2e_labels]
    if any(y is not None for y in ys):
        ax_e2e.bar(range(2), [y or 0.0 for y in ys], 0.6, color=["#3b75af", "#2a9d8f"])
        for j, (label, _) in enumerate(e2e_labels):
            bound = TARGETS[label][1]
            ax_e2e.hlines(bound, j - 0.4, j + 0.4, colors="crimson", linestyles="--", linewidth=1.6)
        ax_e2e.set_xticks(range(2), [name for _, name in e2e_labels], fontsize=8)
    else:
        ax_e2e.text(0.5, 0.5, "not run", ha="center", va="center", transform=ax_e2e.transAxes)
        ax_e2e.set_xticks([])
    ax_e2e.axhline(1.0, color="black", linewidth=0.8)
    ax_e2e.set_title("End to end vs JsonPlus\n(agent, 125 turns)")
    ax_e2e.grid(axis="y", alpha=0.3)

    mem_labels = [
        (R_MEM_TRACEMALLOC, "tracemalloc"),
        (R_MEM_RSS_COLD, "RSS 1st"),
        (R_MEM_MALLOC_COLD, "malloc 1st"),
        (R_MEM_MALLOC_WARM, "malloc warm"),
    ]
    for i, size in enumerate(sizes):
        xs = [j + (i - (len(sizes) - 1) / 2) * width for j in range(len(mem_labels))]
        ax_mem.bar(xs, [value.get((size, label)) or float("nan") for label, _ in mem_labels],
                   width, color=colors[i], label=size)
    ax_mem.axhline(TARGETS[R_MEM_TRACEMALLOC][1], color="crimson", linestyle="--", linewidth=1.6)
    ax_mem.set_xticks(range(len(mem_labels)), [name for _, name in mem_labels], fontsize=7,
                      rotation=20)
    ax_mem.set_title("dumps_typed peak extra memory\n/ output size (target <= 1.2x)")
    ax_mem.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    DOCS_PNG.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(DOCS_PNG, dpi=110)
    plt.close(fig)
