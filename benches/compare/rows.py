"""What ``make bench`` compares: the table's row labels, which contenders each row times, and
the targets (evaluated at :data:`TARGET_SIZE`)."""

from __future__ import annotations

TARGET_SIZE = "200k"

TABLE_HEADER = (
    "size", "comparison", "A: fast-serde", "B: anchor", "B/A", "B/A shuffled", "target", "status"
)

# Row labels (the "comparison" column). The speed-up rows read "B/A": how many times faster A is.
R_DUMPS_JSONPLUS = "dumps_typed Fast vs JsonPlus"
R_DUMPS_PICKLE = "dumps_typed Fast vs pickle.dumps(p5)"
R_DUMPS_DEEPCOPY = "dumps_typed Fast vs copy.deepcopy"
R_LOADS_JSONPLUS = "loads_typed Fast vs JsonPlus"
R_REVALIDATION = "loads_typed JsonPlus cls(**kw) share"
R_TRUSTED_JSONPLUS = "loads_typed trusted vs JsonPlus"
R_TRUSTED_PICKLE = "loads_typed trusted vs pickle.loads"
R_PLAIN_DUMPS_ORMSGPACK = "plain dumps fast_serde vs ormsgpack"
R_PLAIN_DUMPS_MSGSPEC = "plain dumps fast_serde vs msgspec"
R_PLAIN_LOADS_ORMSGPACK = "plain loads fast_serde vs ormsgpack"
R_PLAIN_LOADS_MSGSPEC = "plain loads fast_serde vs msgspec"
R_MEM_TRACEMALLOC = "memory dumps_typed tracemalloc peak/out"
R_MEM_RSS_COLD = "memory dumps_typed RSS peak/out, 1st call"
R_MEM_MALLOC_COLD = "memory dumps_typed malloc held/out, 1st call"
R_MEM_MALLOC_WARM = "memory dumps_typed malloc held/out, warm"
R_E2E_DEFAULT = "e2e 125 turns FastSerializer() vs JsonPlus"
R_E2E_TRUSTED = "e2e 125 turns trusted vs JsonPlus"

# label -> (operator, bound); evaluated on B/A (speed-ups) or A/B (memory) at TARGET_SIZE.
TARGETS: dict[str, tuple[str, float]] = {
    R_DUMPS_JSONPLUS: (">=", 10.0),
    R_DUMPS_PICKLE: (">=", 3.0),
    R_DUMPS_DEEPCOPY: (">=", 20.0),
    R_LOADS_JSONPLUS: (">=", 1.3),
    R_TRUSTED_JSONPLUS: (">=", 5.0),
    R_TRUSTED_PICKLE: (">", 1.0),
    R_PLAIN_DUMPS_ORMSGPACK: (">=", 1.0),
    R_PLAIN_LOADS_ORMSGPACK: (">=", 1.0),
    R_MEM_TRACEMALLOC: ("<=", 1.2),
    R_MEM_RSS_COLD: ("<=", 1.2),
    R_MEM_MALLOC_COLD: ("<=", 1.2),
    R_MEM_MALLOC_WARM: ("<=", 1.2),
    R_E2E_DEFAULT: (">=", 1.4),
    R_E2E_TRUSTED: (">=", 2.0),
}

# (row label, contender A, contender B) of the timed speed-up rows, in table order.
SPEED_ROWS: tuple[tuple[str, str, str], ...] = (
    (R_DUMPS_JSONPLUS, "fast.dumps_typed", "jsonplus.dumps_typed"),
    (R_DUMPS_PICKLE, "fast.dumps_typed", "pickle.dumps"),
    (R_DUMPS_DEEPCOPY, "fast.dumps_typed", "copy.deepcopy"),
    (R_LOADS_JSONPLUS, "fast.loads_typed", "jsonplus.loads_typed"),
    (R_TRUSTED_JSONPLUS, "trusted.loads_typed", "jsonplus.loads_typed"),
    (R_TRUSTED_PICKLE, "trusted.loads_typed", "pickle.loads"),
    (R_PLAIN_DUMPS_ORMSGPACK, "fast_serde.dumps", "ormsgpack.packb"),
    (R_PLAIN_DUMPS_MSGSPEC, "fast_serde.dumps", "msgspec.encode"),
    (R_PLAIN_LOADS_ORMSGPACK, "fast_serde.loads", "ormsgpack.unpackb"),
    (R_PLAIN_LOADS_MSGSPEC, "fast_serde.loads", "msgspec.decode"),
)
# (row label, A, B) of every pair timed alternately: the speed-up rows and the re-validation share.
PAIR_ROWS: tuple[tuple[str, str, str], ...] = (
    *SPEED_ROWS,
    (R_REVALIDATION, "jsonplus.rebuild", "jsonplus.loads_typed"),
)
