#!/usr/bin/env bash
# Build the extension and run the pytest suite on every CPython this machine has among those we
# support, each in its own venv (.venv-3.X, created and filled from requirements-dev.txt by the
# Makefile): `make test-matrix`. Says which Pythons ran, which were not found, each one's pytest
# summary and its dumps_typed / loads_typed ratios against JsonPlusSerializer at 200k
# (benches/matrix_ratios.py, which first checks the bytes); exits non-zero when any run fails, ran
# no test (pytest's exit code 5), or wrote other bytes than the reference.
#
#   scripts/test_matrix.sh
#
# Environment:
#   MATRIX_VERSIONS="3.10 3.11 3.12 3.13 3.14 3.15"  the minor versions to look for
#   MATRIX_SKIP="3.11"                     versions to leave out (.ci/run: the default Python,
#                                          which `make test` has just tested)
#   PYENV_ROOT                             where pyenv keeps its versions (default ~/.pyenv)
#
#   MATRIX_SID=0                           do not use the Debian sid root (below)
#
# An interpreter is looked for in $PYENV_ROOT/versions/3.X.*/bin/python3.X (the newest patch
# release), then as python3.X on PATH. Free-threaded builds (python3.Xt) are not picked up.
# CPython 3.14 and 3.15, when this machine has neither, come from a Debian sid root made with
# debootstrap and kept under /var/cache (scripts/sid_root.sh; as root): the venv, the build and
# the pytest run of that version happen inside it (chroot) over this checkout.
set -uo pipefail
cd "$(dirname "$0")/.."

VERSIONS="${MATRIX_VERSIONS:-3.10 3.11 3.12 3.13 3.14 3.15}"
SKIP=" ${MATRIX_SKIP:-} "
PYENV_ROOT="${PYENV_ROOT:-$HOME/.pyenv}"
LOGDIR="${MATRIX_LOGDIR:-target/matrix}"
mkdir -p "$LOGDIR"

log() { printf 'test-matrix: %s\n' "$*"; }

find_python() {
    local v="$1" p
    # The newest patch release pyenv has (sort -V: 3.12.10 after 3.12.9).
    p="$(ls -d "$PYENV_ROOT"/versions/"$v".*/bin/python"$v" 2>/dev/null | sort -V | tail -1)"
    if [[ -n "$p" && -x "$p" ]]; then echo "$p"; return 0; fi
    p="$(command -v "python$v" 2>/dev/null)" || return 1
    # A pyenv shim answers even for versions it does not have: ask it for its real version.
    [[ "$("$p" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" == "$v" ]] || return 1
    echo "$p"
}

declare -a ran=() missing=() skipped=() failed=() lines=()
total_passed=0 total_failed=0 total_skipped=0 total_errors=0

for v in $VERSIONS; do
    if [[ "$SKIP" == *" $v "* ]]; then
        skipped+=("$v"); log "$v: left out (MATRIX_SKIP: tested by make test)"; continue
    fi
    # in: the command prefix that runs this version's commands (the sid root's, or none).
    in=()
    if ! py="$(find_python "$v")"; then
        if [[ "${MATRIX_SID:-1}" != 0 ]] && bash scripts/sid_root.sh has "$v"; then
            if ! bash scripts/sid_root.sh ensure >"$LOGDIR/sid-root.log" 2>&1; then
                cat "$LOGDIR/sid-root.log" >&2
                ran+=("$v"); failed+=("$v"); lines+=("$v: the sid root could not be made (log $LOGDIR/sid-root.log)")
                continue
            fi
            in=(bash scripts/sid_root.sh run)
            py="python$v"
        else
            missing+=("$v"); log "$v: not found (no $PYENV_ROOT/versions/$v.*, no python$v on PATH, no sid root)"; continue
        fi
    fi
    ran+=("$v")
    venv=".venv-$v"
    log "$v: $py ($("${in[@]}" "$py" -c 'import sys; print(sys.version.split()[0])'))${in:+ in the sid root} in $venv"
    start=$SECONDS
    if ! "${in[@]}" make --no-print-directory build VENV="$venv" PYTHON="$py" >"$LOGDIR/build-$v.log" 2>&1; then
        tail -30 "$LOGDIR/build-$v.log" >&2
        failed+=("$v"); lines+=("$v: build failed (log $LOGDIR/build-$v.log)")
        continue
    fi
    "${in[@]}" bash scripts/pg_setup.sh >/dev/null
    # -p no:cacheprovider: the venvs share the tree; no --lf state from another Python.
    # -m "not slow": the wheel tests (a release build of the extension each, minutes) run in
    # `make test` on the default Python; `make wheels` builds the wheel of every Python and
    # installs and imports it in a fresh venv of its own, so the matrix need not build it twice.
    # -n: the suite on PYTEST_WORKERS processes (pytest-xdist), as `make test` runs it.
    "${in[@]}" "$venv/bin/python" -m pytest -q -p no:cacheprovider -n "${PYTEST_WORKERS:-2}" -m "not slow" 2>&1 | tee "$LOGDIR/pytest-$v.log" | grep -v -E '^[.sxFE]+ +\[ *[0-9]+%\]$'
    rc=${PIPESTATUS[0]}
    took=$(( SECONDS - start ))
    # pytest's closing line ("12 passed, 1 skipped in 3.2s", framed by "=" without -q).
    summary="$(grep -E '^(=+ )?([0-9]+ [a-z]+(, )?)+.* in [0-9.]+s|no tests ran' "$LOGDIR/pytest-$v.log" | tail -1 | sed -E 's/^=+ //; s/ =+$//')"
    for kind in passed failed skipped errors; do
        n="$(grep -oE "[0-9]+ ${kind%s}s?\b" <<<"$summary" | grep -oE '^[0-9]+' | head -1)"
        case "$kind" in
            passed) total_passed=$(( total_passed + ${n:-0} ));;
            failed) total_failed=$(( total_failed + ${n:-0} ));;
            skipped) total_skipped=$(( total_skipped + ${n:-0} ));;
            errors) total_errors=$(( total_errors + ${n:-0} ));;
        esac
    done
    if (( rc == 5 )); then
        failed+=("$v"); lines+=("$v: pytest ran no test (exit 5): a failure")
    elif (( rc != 0 )); then
        failed+=("$v"); lines+=("$v: FAILED (pytest exit $rc): ${summary:-no summary} [${took}s]")
    elif ! ratios="$("${in[@]}" "$venv/bin/python" benches/matrix_ratios.py 2>&1 | tail -1)" || [[ "$ratios" != *'"bytes_identical": true'* ]]; then
        failed+=("$v"); lines+=("$v: FAILED benches/matrix_ratios.py: $ratios")
    else
        # dumps_typed / loads_typed against JsonPlusSerializer at 200k, alternating in one process.
        ratio="$(sed -E 's/.*"dumps_typed": ([0-9.]+), "loads_typed": ([0-9.]+).*/\1x \/ \2x/' <<<"$ratios")"
        lines+=("$v: ok: $summary [${took}s]; dumps_typed / loads_typed vs JsonPlus at 200k: $ratio")
    fi
done

log "ran: ${ran[*]:-none}; not found: ${missing[*]:-none}; left out: ${skipped[*]:-none}"
for line in "${lines[@]}"; do log "$line"; done
if (( ${#ran[@]} == 0 )); then
    # No totals line then: "0 passed" would read as a run of no test.
    log "no Python of ($VERSIONS) to test beyond those left out"
else
    printf 'test-matrix: %d passed, %d failed, %d skipped\n' "$total_passed" "$(( total_failed + total_errors ))" "$total_skipped"
fi
if (( ${#failed[@]} )); then
    log "FAILED on: ${failed[*]}"
    exit 1
fi
exit 0
