#!/usr/bin/env bash
# The "latest" lane: fast-serde against the newest langgraph, langgraph-checkpoint, langchain-core
# and pydantic the registry serves that install together (no pins), in its own venv.
#
#   scripts/test_latest.sh [PYTHON]      (make test-latest; .ci/run calls it)
#
# Runs the tests that compare FastSerializer with the installed JsonPlusSerializer (byte for byte,
# object for object: langgraph_serde/ but its native-constants and stats tests) and
# prints the versions it resolved. Exits non-zero on any failure, and when no test ran.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${1:-python3}"
VENV=.venv-latest
# The packages whose newest releases the lane takes, plus what the tests import (unpinned too).
LATEST=(langgraph langgraph-checkpoint langgraph-checkpoint-sqlite langchain-core pydantic ormsgpack)
TEST_DEPS=(pytest hypothesis numpy msgpack maturin)

if [[ ! -x "$VENV/bin/python" ]]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet --upgrade "${LATEST[@]}" "${TEST_DEPS[@]}"
VIRTUAL_ENV="$(pwd)/$VENV" PATH="$(pwd)/$VENV/bin:$PATH" "$VENV/bin/maturin" develop --release --quiet

echo "test-latest: resolved versions:"
"$VENV/bin/python" - "${LATEST[@]}" <<'PY'
import sys
from importlib.metadata import version
for name in sys.argv[1:]:
    print(f"  {name} {version(name)}")
PY

set +e
"$VENV/bin/python" -m pytest -q -p no:cacheprovider \
    python/tests/langgraph_serde/test_{golden,types,pydantic,trusted,ext_payloads,property}.py \
    python/tests/langgraph_serde/test_{allowlist,type_tags,encryption,errors,regressions,graph}.py \
    python/tests/langgraph_serde/test_exactness_*.py python/tests/langgraph_serde/test_{memo,caches}.py
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
    echo "test-latest: no test ran" >&2
    exit 1
fi
exit $rc
