#!/usr/bin/env bash
# Release wheels users can install: one manylinux2014 wheel (glibc 2.17 or newer: Amazon Linux 2,
# RHEL 7/8, Ubuntu 18.04+) per CPython 3.10-3.13 this machine has, linked with maturin's zig
# linker (the `ziglang` package: no container), plus the sdist. Then each wheel is installed into
# a fresh venv of its own Python with `fast-serde[langgraph]` from the registry, and every module
# it ships is imported there with nothing else installed (the demo is an example program,
# examples/agent_sqlite/, not in the wheel).
#
#   scripts/wheels.sh            (make wheels; .ci/run calls it)
#
# Environment: VENV (the project venv with maturin, default .venv), PYENV_ROOT, WHEEL_VERSIONS
# ("3.10 3.11 3.12 3.13"). Exits non-zero on any failure, and when no wheel was built.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
VERSIONS="${WHEEL_VERSIONS:-3.10 3.11 3.12 3.13}"
PYENV_ROOT="${PYENV_ROOT:-$HOME/.pyenv}"
OUT=target/wheels-release
ZIGLANG=ziglang==0.15.2

log() { printf 'wheels: %s\n' "$*"; }

find_python() {  # as scripts/test_matrix.sh: pyenv's newest patch release, else python3.X on PATH
    local v="$1" p
    p="$(ls -d "$PYENV_ROOT"/versions/"$v".*/bin/python"$v" 2>/dev/null | sort -V | tail -1)"
    if [[ -n "$p" && -x "$p" ]]; then echo "$p"; return 0; fi
    p="$(command -v "python$v" 2>/dev/null)" || return 1
    [[ "$("$p" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" == "$v" ]] || return 1
    echo "$p"
}

"$VENV/bin/pip" install --quiet "$ZIGLANG"
rm -rf "$OUT"
mkdir -p "$OUT"
export VIRTUAL_ENV="$(pwd)/$VENV" PATH="$(pwd)/$VENV/bin:$PATH"

declare -A python_of=()
for v in $VERSIONS; do
    if ! py="$(find_python "$v")"; then
        log "$v: not found"
        continue
    fi
    python_of[$v]="$py"
    start=$SECONDS
    maturin build --release --zig --compatibility manylinux2014 -i "$py" --out "$OUT" --quiet
    log "$v: built in $(( SECONDS - start ))s"
done
maturin sdist --out "$OUT" >/dev/null
(( ${#python_of[@]} > 0 )) || { log "no Python found: no wheel built" >&2; exit 1; }

check=$(mktemp)
trap 'rm -f "$check"' EXIT
cat > "$check" <<'PY'
"""Import every module the wheel ships, with only fast-serde[langgraph] installed."""
import importlib
import sys
import zipfile

wheel = sys.argv[1]
names = sorted(
    n[:-3].replace("/", ".").removesuffix(".__init__")
    for n in zipfile.ZipFile(wheel).namelist()
    if n.startswith("fast_serde/") and n.endswith(".py")
)
for name in names:
    importlib.import_module(name)
import fast_serde
from fast_serde.langgraph import FastSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

value = {"messages": [{"role": "user", "content": "hi"}], "n": 3}
assert FastSerializer().dumps_typed(value) == JsonPlusSerializer().dumps_typed(value)
assert fast_serde.loads(fast_serde.dumps(value)) == value
print(f"{len(names)} modules")
PY

fail=0
for v in "${!python_of[@]}"; do
    tag="cp${v/./}"
    wheel="$(ls "$OUT"/fast_serde-*-"$tag"-"$tag"-manylinux*.whl 2>/dev/null | head -1)"
    if [[ -z "$wheel" ]]; then
        log "$v: no manylinux wheel for $tag" >&2; fail=1; continue
    fi
    [[ "$wheel" == *manylinux2014_x86_64* || "$wheel" == *manylinux_2_17_x86_64* ]] || {
        log "$v: $wheel is not tagged manylinux2014" >&2; fail=1; continue; }
    venv="$(mktemp -d)/venv"
    "${python_of[$v]}" -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet "$wheel[langgraph]"
    if ! out="$("$venv/bin/python" "$check" "$wheel" 2>&1)"; then
        log "$v: $wheel with [langgraph]: $out" >&2; fail=1; rm -rf "$(dirname "$venv")"; continue
    fi
    log "$v: $(basename "$wheel"): [langgraph] $out"
    rm -rf "$(dirname "$venv")"
done
ls "$OUT"/*.tar.gz >/dev/null
exit $fail
