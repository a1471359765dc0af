#!/usr/bin/env bash
# Fuzz the reader (Rust) and the Python API for SECONDS in all (default 60), seeded from
# fixtures/fuzz_corpus. Exits non-zero on any finding (inputs land in fuzz/artifacts/).
#
#   scripts/fuzz.sh [SECONDS]
#
# The time is split in three: the Rust target `loads` (fast_serde.loads), the Rust target
# `loads_langgraph` (FastSerializer.loads_typed, strict allowlist), then the Python API target
# (fuzz/python/fuzz_api.py: loads, loads_typed against JsonPlusSerializer, dumps/dumps_typed
# round trips). Build time is not counted (the first build of fuzz/ takes a minute or two).
#
# Engines (environment):
#   FUZZ_ENGINE=auto|libfuzzer|loop   Rust. libfuzzer = `cargo fuzz run` (coverage-guided, ASan),
#                                     on stable Rust through RUSTC_BOOTSTRAP=1; needs cargo-fuzz
#                                     (`cargo install cargo-fuzz`). loop = fuzz/src/bin/fuzz_loop.rs,
#                                     a mutation loop on plain stable cargo. auto: libfuzzer when
#                                     `cargo fuzz` is installed, else loop.
#   FUZZ_PY_ENGINE=auto|atheris|mutate  Python. atheris when importable (pip install atheris),
#                                     else a random mutation loop.
#   FUZZ_SEED=N                       seed of the mutation loops (default: the clock; printed).
#   FUZZ_INSTALL=1                    install cargo-fuzz and atheris first when missing.
#   FAST_SERDE_DIFF_EXAMPLES=N        then run python/tests/differential/test_differential.py with
#                                     N hypothesis examples per property (FastSerializer against
#                                     JsonPlusSerializer on generated classes; seeded by FUZZ_SEED;
#                                     not counted in SECONDS), FAST_SERDE_DIFF_PER_RUN (500) per
#                                     process.
#                                     `make fuzz` sets 2000; unset or 0: skipped.
#   VENV=.venv                        the project venv (built extension and pinned deps).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_TOTAL="${1:-60}"
VENV="${VENV:-.venv}"
PY="$(cd "$(dirname "$VENV/bin/python")" && pwd)/python"
ENGINE="${FUZZ_ENGINE:-auto}"
PY_ENGINE="${FUZZ_PY_ENGINE:-auto}"
SEEDS="fixtures/fuzz_corpus"
export FUZZ_SEED="${FUZZ_SEED:-$(date +%s)}"

if [[ ! -x "$PY" ]]; then
    echo "fuzz.sh: no venv python at $VENV/bin/python (run make setup/build first)" >&2
    exit 2
fi
if ! [[ "$SECONDS_TOTAL" =~ ^[0-9]+$ ]] || (( SECONDS_TOTAL < 3 )); then
    echo "fuzz.sh: SECONDS must be an integer >= 3" >&2
    exit 2
fi

if [[ "${FUZZ_INSTALL:-0}" == 1 ]]; then
    cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
    "$PY" -c 'import atheris' 2>/dev/null || "$PY" -m pip install --quiet 'atheris==3.0.0'
fi

if [[ "$ENGINE" == auto ]]; then
    if cargo fuzz --version >/dev/null 2>&1; then ENGINE=libfuzzer; else ENGINE=loop; fi
fi
if [[ "$PY_ENGINE" == auto ]]; then
    if "$PY" -c 'import atheris' 2>/dev/null; then PY_ENGINE=atheris; else PY_ENGINE=mutate; fi
fi

PER=$(( SECONDS_TOTAL / 3 ))
SITE="$("$PY" -c 'import site; print(site.getsitepackages()[0])')"
export PYO3_PYTHON="$PY"
# The embedded interpreter of the Rust targets: the venv's packages, this tree's fast_serde.
export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
# CPython never frees everything at exit: leak reports at exit are not findings here (reference
# leaks are tested by python/tests/robustness/test_leaks.py).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"

LOGDIR="fuzz/logs"
mkdir -p "$LOGDIR" fuzz/corpus
status=0
summary=()

run_rust() {
    local target="$1" log="$LOGDIR/$1.log"
    mkdir -p "fuzz/corpus/$target"
    echo "fuzz.sh: $target: $ENGINE for ${PER}s"
    local rc=0
    if [[ "$ENGINE" == libfuzzer ]]; then
        RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz --features libfuzzer "$target" \
            "fuzz/corpus/$target" "$SEEDS" -- \
            -max_total_time="$PER" -max_len=8192 -timeout=10 -rss_limit_mb=4096 \
            -detect_leaks=0 -print_final_stats=1 -seed="$FUZZ_SEED" >"$log" 2>&1 || rc=$?
        local execs
        execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
        summary+=("$target (libFuzzer): ${execs:-?} execs, exit $rc")
    else
        "fuzz/target/release/fuzz_loop" "$target" "$PER" --seed "$FUZZ_SEED" "$SEEDS" >"$log" 2>&1 || rc=$?
        summary+=("$target (loop): $(grep -o '[0-9]* execs' "$log" || echo '? execs'), exit $rc")
    fi
    if (( rc != 0 )); then
        status=1
        echo "fuzz.sh: $target: FINDING or failure (exit $rc); log $log:" >&2
        grep -v -E '^#[0-9]+|# Uses:' "$log" | tail -40 >&2
    fi
}

if [[ "$ENGINE" == libfuzzer ]]; then
    RUSTC_BOOTSTRAP=1 cargo fuzz build --fuzz-dir fuzz --features libfuzzer >"$LOGDIR/build.log" 2>&1 \
        || { tail -30 "$LOGDIR/build.log" >&2; exit 2; }
elif [[ "$ENGINE" == loop ]]; then
    cargo build --quiet --release --manifest-path fuzz/Cargo.toml --bin fuzz_loop >"$LOGDIR/build.log" 2>&1 \
        || { tail -30 "$LOGDIR/build.log" >&2; exit 2; }
else
    echo "fuzz.sh: FUZZ_ENGINE must be auto, libfuzzer or loop" >&2
    exit 2
fi

run_rust loads
run_rust loads_langgraph

PY_SECONDS=$(( SECONDS_TOTAL - 2 * PER ))
echo "fuzz.sh: python API: $PY_ENGINE for ${PY_SECONDS}s"
mkdir -p fuzz/corpus/python
rc=0
"$PY" fuzz/python/fuzz_api.py "$PY_SECONDS" --engine "$PY_ENGINE" fuzz/corpus/python "$SEEDS" \
    >"$LOGDIR/python.log" 2>&1 || rc=$?
if [[ "$PY_ENGINE" == atheris ]]; then
    execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$LOGDIR/python.log" | grep -o '[0-9]*$' || echo '?')"
else
    execs="$(grep -o '[0-9]* execs' "$LOGDIR/python.log" | grep -o '^[0-9]*' || echo '?')"
fi
summary+=("python API ($PY_ENGINE): ${execs:-?} execs, exit $rc")
if (( rc != 0 )); then
    status=1
    echo "fuzz.sh: python API: FINDING or failure (exit $rc); log $LOGDIR/python.log:" >&2
    grep -v -E '^#[0-9]+|# Uses:' "$LOGDIR/python.log" | tail -40 >&2
fi

DIFF_EXAMPLES="${FAST_SERDE_DIFF_EXAMPLES:-0}"
DIFF_PER_RUN="${FAST_SERDE_DIFF_PER_RUN:-500}"
if [[ "$DIFF_EXAMPLES" =~ ^[0-9]+$ ]] && (( DIFF_EXAMPLES > 0 )); then
    # One process per property and per DIFF_PER_RUN examples (seeds FUZZ_SEED, FUZZ_SEED+1, ...):
    # FastSerializer caches plans for the first 4096 classes of a process only, and a property
    # builds 1-6 classes an example; the known-issue regressions run once, first.
    DIFF_TESTS=python/tests/differential/test_differential.py
    mapfile -t DIFF_PROPS < <("$PY" -m pytest -q --collect-only -p no:cacheprovider "$DIFF_TESTS" 2>/dev/null \
        | grep -o '::test_[a-z_]*_differential$' || true)
    echo "fuzz.sh: differential: $DIFF_EXAMPLES examples for each of ${#DIFF_PROPS[@]} properties, $DIFF_PER_RUN per process"
    rm -f "$LOGDIR"/differential-*.json "$LOGDIR/differential.log"
    rc=0
    "$PY" -m pytest -q -p no:cacheprovider python/tests/differential/test_diff_known.py \
        >>"$LOGDIR/differential.log" 2>&1 || rc=$?
    run=0
    for prop in "${DIFF_PROPS[@]}"; do
        for (( done_n = 0; done_n < DIFF_EXAMPLES; done_n += DIFF_PER_RUN )); do
            n=$(( DIFF_EXAMPLES - done_n < DIFF_PER_RUN ? DIFF_EXAMPLES - done_n : DIFF_PER_RUN ))
            run=$(( run + 1 ))
            FAST_SERDE_DIFF_EXAMPLES="$n" FAST_SERDE_DIFF_STATS="$LOGDIR/differential-$run.json" \
                "$PY" -m pytest -q -p no:cacheprovider "$DIFF_TESTS$prop" \
                --hypothesis-seed=$(( FUZZ_SEED + done_n / DIFF_PER_RUN )) >>"$LOGDIR/differential.log" 2>&1 || rc=$?
        done
    done
    totals="$("$PY" -c 'import json, sys; t = [json.load(open(p)) for p in sys.argv[1:]]; print(" ".join(f"{k}={sum(x[k] for x in t)}" for k in ("examples", "classes", "values", "comparisons", "seconds")))' "$LOGDIR"/differential-*.json 2>/dev/null || echo '?')"
    summary+=("differential: $totals in $run processes, exit $rc")
    if (( rc != 0 )); then
        status=1
        echo "fuzz.sh: differential: FINDING or failure (exit $rc); log $LOGDIR/differential.log:" >&2
        grep -E 'Discrepancy|JsonPlus:|Fast:|first difference|reproduce_failure|FAILED|XPASS' "$LOGDIR/differential.log" | tail -40 >&2
    fi
fi

echo "fuzz.sh: seed $FUZZ_SEED (FUZZ_SEED=$FUZZ_SEED replays the mutation loops)"
for line in "${summary[@]}"; do echo "fuzz.sh: $line"; done
if (( status == 0 )); then echo "fuzz.sh: no findings"; fi
exit "$status"
