#!/usr/bin/env bash
# Release wheels users can install: one manylinux2014 wheel (glibc 2.17 or newer: Amazon Linux 2,
# RHEL 7/8, Ubuntu 18.04+) per CPython 3.10-3.15, linked with maturin's zig linker (the
# `ziglang` package: no container), plus the sdist. Then each wheel is installed into a fresh
# venv of its own Python with `fast-serde[langgraph]` from the registry, and every module it
# ships is imported there with nothing else installed (scripts/wheel_check.py; the demo is an
# example program, examples/agent_sqlite/, not in the wheel).
#
#   scripts/wheels.sh            (make wheels; .ci/run calls it)
#
# Interpreters are found as scripts/test_matrix.sh finds them: pyenv's newest patch release,
# else python3.X on PATH. CPython 3.14 and 3.15, when this machine has neither, come from the
# Debian sid root of scripts/sid_root.sh (as root): their wheels are built inside it (chroot,
# over this checkout, Cargo in target/sid) by the pinned maturin and the same ziglang, installed
# in a venv of their own there (target/sid/wheel-tools), and each is checked in a fresh venv of
# the root's python3.X. The zig linker targets glibc 2.17 whatever the building system's glibc
# is, and maturin checks the manylinux2014 symbol versions of the result before it writes it.
#
# Environment: VENV (the project venv with maturin, default .venv), PYENV_ROOT, WHEEL_VERSIONS
# ("3.10 3.11 3.12 3.13 3.14 3.15"), WHEEL_SID=0 (do not use the sid root). Exits non-zero on
# any failure, and when no wheel was built; says which Pythons were not found.
set -euo pipefail
cd "$(dirname "$0")/.."
here="$(pwd)"

VENV="${VENV:-.venv}"
VERSIONS="${WHEEL_VERSIONS:-3.10 3.11 3.12 3.13 3.14 3.15}"
PYENV_ROOT="${PYENV_ROOT:-$HOME/.pyenv}"
OUT=target/wheels-release
ZIGLANG=ziglang==0.15.2
MATURIN="$(grep -E '^maturin==' requirements-dev.txt | head -1)"  # the pin of `make build`
TOOLS=target/sid/wheel-tools  # maturin and ziglang for the builds inside the sid root

log() { printf 'wheels: %s\n' "$*"; }

find_python() {  # as scripts/test_matrix.sh: pyenv's newest patch release, else python3.X on PATH
    local v="$1" p
    p="$(ls -d "$PYENV_ROOT"/versions/"$v".*/bin/python"$v" 2>/dev/null | sort -V | tail -1)"
    if [[ -n "$p" && -x "$p" ]]; then echo "$p"; return 0; fi
    p="$(command -v "python$v" 2>/dev/null)" || return 1
    [[ "$("$p" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" == "$v" ]] || return 1
    echo "$p"
}

build() {  # build PYTHON: one manylinux2014 wheel into $OUT (maturin and zig first on PATH)
    maturin build --release --zig --compatibility manylinux2014 -i "$1" --out "$OUT" --quiet
}

check() {  # check PYTHON WHEEL: a fresh venv of PYTHON, WHEEL[langgraph] from the registry, imports
    local tmp wheel status=0
    wheel="$(realpath "$2")"
    tmp="$(mktemp -d)"
    { "$1" -m venv "$tmp/venv" \
        && "$tmp/venv/bin/pip" install --quiet --upgrade pip \
        && "$tmp/venv/bin/pip" install --quiet "$wheel[langgraph]" \
        && (cd "$tmp" && "$tmp/venv/bin/python" "$here/scripts/wheel_check.py" "$wheel"); } || status=$?
    rm -rf "$tmp"
    return $status
}

# The steps that run inside the sid root (scripts/sid_root.sh run scripts/wheels.sh --sid-...).
case "${1:-}" in
    --sid-build)  # --sid-build 3.X...: the wheels of the root's python3.X
        shift
        [[ -x "$TOOLS/bin/python" ]] || python"$1" -m venv "$TOOLS"
        "$TOOLS/bin/pip" install --quiet --upgrade pip
        "$TOOLS/bin/pip" install --quiet "$MATURIN" "$ZIGLANG"
        export VIRTUAL_ENV="$(pwd)/$TOOLS" PATH="$(pwd)/$TOOLS/bin:$PATH"
        for v in "$@"; do
            start=$SECONDS
            build "python$v"
            log "$v: built in $(( SECONDS - start ))s (sid root, $(python"$v" -V))"
        done
        exit 0;;
    --sid-check)  # --sid-check 3.X WHEEL
        check "python$2" "$3"
        exit;;
esac

begin=$SECONDS
"$VENV/bin/pip" install --quiet "$ZIGLANG"
rm -rf "$OUT"
mkdir -p "$OUT"

declare -A python_of=()  # version -> host interpreter
declare -a sid=() missing=()
for v in $VERSIONS; do
    if py="$(find_python "$v")"; then
        python_of[$v]="$py"
    elif [[ "${WHEEL_SID:-1}" != 0 ]] && bash scripts/sid_root.sh has "$v"; then
        sid+=("$v")
    else
        missing+=("$v"); log "$v: not found (no pyenv version, no python$v on PATH, no sid root)"
    fi
done

(
    export VIRTUAL_ENV="$(pwd)/$VENV" PATH="$(pwd)/$VENV/bin:$PATH"
    for v in $VERSIONS; do
        [[ -n "${python_of[$v]:-}" ]] || continue
        start=$SECONDS
        build "${python_of[$v]}"
        log "$v: built in $(( SECONDS - start ))s (${python_of[$v]})"
    done
    maturin sdist --out "$OUT" >/dev/null
)
if (( ${#sid[@]} )); then
    bash scripts/sid_root.sh run bash scripts/wheels.sh --sid-build "${sid[@]}"
fi
(( ${#python_of[@]} + ${#sid[@]} > 0 )) || { log "no Python found: no wheel built" >&2; exit 1; }

fail=0
for v in $VERSIONS; do
    [[ -n "${python_of[$v]:-}" || " ${sid[*]} " == *" $v "* ]] || continue
    status=0
    tag="cp${v/./}"
    wheel="$(ls "$OUT"/fast_serde-*-"$tag"-"$tag"-manylinux*.whl 2>/dev/null | head -1)"
    if [[ -z "$wheel" ]]; then
        log "$v: no manylinux wheel for $tag" >&2; fail=1; continue
    fi
    [[ "$wheel" == *manylinux2014_x86_64* || "$wheel" == *manylinux_2_17_x86_64* ]] || {
        log "$v: $wheel is not tagged manylinux2014" >&2; fail=1; continue; }
    if [[ -n "${python_of[$v]:-}" ]]; then
        where="" out="$(check "${python_of[$v]}" "$wheel" 2>&1)" || status=$?
    else
        where=" (sid root)"
        out="$(bash scripts/sid_root.sh run bash scripts/wheels.sh --sid-check "$v" "$wheel" 2>&1)" || status=$?
    fi
    if (( status )); then
        log "$v: $wheel with [langgraph]$where: $out" >&2; fail=1; continue
    fi
    log "$v: $(basename "$wheel"): [langgraph]$where $(tail -1 <<<"$out") imported"
done
ls "$OUT"/*.tar.gz >/dev/null
log "$(ls "$OUT"/*.whl | wc -l) wheels and the sdist in $OUT in $(( SECONDS - begin ))s; not found: ${missing[*]:-none}"
exit $fail
