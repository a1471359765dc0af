#!/usr/bin/env bash
# The free-threaded build (CPython 3.14t, `Py_GIL_DISABLED`) must keep compiling, though no such
# interpreter can be had here: pyo3's build config is given by a PYO3_CONFIG_FILE (no interpreter
# needed) and the extension is type-checked and linted for it (`cargo clippy`, no link).
# `make test-ft-build`; .ci/run runs it. Cargo builds into target/ft.
set -euo pipefail
cd "$(dirname "$0")/.."
config="$(mktemp)"
trap 'rm -f "$config"' EXIT
cat >"$config" <<'CFG'
implementation=CPython
version=3.14
shared=true
abi3=false
build_flags=Py_GIL_DISABLED
suppress_build_script_link_lines=false
pointer_width=64
CFG
PYO3_CONFIG_FILE="$config" CARGO_TARGET_DIR=target/ft \
    cargo clippy -p fast-serde-py --release --quiet -- -D warnings
echo "check-free-threaded: CPython 3.14t (Py_GIL_DISABLED) compiles, clippy clean"
