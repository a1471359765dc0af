# The two commands of the contract are `make demo` and `make test`; both start from nothing.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(VENV)/bin/pip
STAMP   := $(VENV)/.deps-installed
PYTHON  ?= python3

.PHONY: all setup build test test-shuffled test-latest test-ft-build wheels test-rust test-python test-fuzz test-bench-build test-releases test-langchain test-matrix lint demo bench bench-loads bench-pg bench-server bench-storage clean fuzz
FUZZ_SECONDS ?= 300

all: test

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# What pip is told through the environment, uv (here and in scripts/release_matrix.py) is told
# through its own variables: the local wheel directory, the timeout.
ifneq ($(wildcard $(PIP_FIND_LINKS)),)
export UV_FIND_LINKS ?= $(PIP_FIND_LINKS)
endif
ifdef PIP_DEFAULT_TIMEOUT
export UV_HTTP_TIMEOUT ?= $(PIP_DEFAULT_TIMEOUT)
endif

# Every pinned dependency lives in requirements-dev.txt. uv (pinned there too) fills the venv,
# compiled to bytecode as pip does: ~15 s where pip took 60-100 s, the same versions (`pip freeze`
# equal). When uv cannot, pip does it as before.
UV_PIN := $(shell grep -E '^uv==' requirements-dev.txt | head -1)
$(STAMP): requirements-dev.txt | $(PY)
	( $(PIP) install --quiet "$(UV_PIN)" \
	  && $(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -r requirements-dev.txt ) \
	|| $(PIP) install --quiet -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP)

# Incremental rebuild of the extension into the venv (cargo keeps its own incremental state).
build: $(STAMP)
	VIRTUAL_ENV=$(abspath $(VENV)) PATH=$(abspath $(VENV))/bin:$$PATH \
		$(VENV)/bin/maturin develop --release --quiet

test-rust: $(STAMP)
	PYO3_PYTHON=$(abspath $(PY)) cargo test --workspace --quiet

lint:
	cargo fmt --all -- --check
	PYO3_PYTHON=$(abspath $(PY)) cargo clippy --workspace --all-targets --quiet -- -D warnings

# PostgreSQL tests start a throwaway server; pg_setup.sh installs Debian's postgresql if needed.
# The suite runs on PYTEST_WORKERS processes (pytest-xdist; each starts its own server): on the
# 2-core machines here, 4-5 minutes where one process took 8. PYTEST_WORKERS=0: one process.
PYTEST_WORKERS ?= 2
export PYTEST_WORKERS
test-python: build
	bash scripts/pg_setup.sh
	$(PY) -m pytest -q -n $(PYTEST_WORKERS)

# The pytest suite in shuffled orders, one run per seed (pytest-randomly: modules, then the tests
# within each, shuffled; off in every other run). Each run must pass, as `make test-python` does:
# no test may rely on what another ran before it. One order again: `.venv/bin/python -m pytest
# -p randomly --randomly-seed=SEED` (each run prints its seed first).
SHUFFLE_SEEDS ?= 1 2 3
test-shuffled: build
	bash scripts/pg_setup.sh
	status=0; for seed in $(SHUFFLE_SEEDS); do \
		echo "test-shuffled: seed $$seed"; \
		$(PY) -m pytest -q -p randomly --randomly-seed=$$seed || status=1; \
	done; exit $$status

FAST_SERDE_DIFF_EXAMPLES ?= 2000
fuzz: build
	VENV=$(VENV) FAST_SERDE_DIFF_EXAMPLES=$(FAST_SERDE_DIFF_EXAMPLES) scripts/fuzz.sh $(FUZZ_SECONDS)

# Bounded pass of `make test`: 45 s of fuzzing on plain stable cargo, fixed seed.
test-fuzz: build
	VENV=$(VENV) FUZZ_ENGINE=loop FUZZ_PY_ENGINE=mutate FUZZ_SEED=1 scripts/fuzz.sh 45

# The Criterion benches (benches/criterion, a standalone crate) must keep compiling. This only
# checks that they build: without the fat LTO of a real `cargo bench`, which would take minutes.
test-bench-build: $(STAMP)
	CARGO_PROFILE_BENCH_LTO=false CARGO_PROFILE_BENCH_CODEGEN_UNITS=16 PYO3_PYTHON=$(abspath $(PY)) \
		cargo bench --no-run --quiet --manifest-path benches/criterion/Cargo.toml

test: build test-rust lint test-bench-build test-fuzz test-python

# The langgraph-checkpoint release matrix: every release in fast_serde.langgraph._compat.VERIFIED
# in its own .venv-lgc-<release> (our tests, the release's own test_jsonplus.py, a byte check), and
# the too-old ones' ImportError. Not part of `make test` (minutes: one venv per release); CI runs it.
test-releases: $(STAMP)
	nice $(PY) scripts/release_matrix.py

# The langchain-core release lane: the verified table of LangChain message classes
# (fast_serde.langgraph._verified) on every release of its RELEASES, each installed in turn over
# .venv (target/langchain-releases/<release> first on PYTHONPATH), running only the table's and
# trusted restore's tests (scripts/langchain_releases.py; about 4 minutes). .ci/run runs it.
test-langchain: build
	nice $(PY) scripts/langchain_releases.py

# The build and the pytest suite on every CPython 3.10-3.15 this machine has (pyenv's or on
# PATH), each in its own venv .venv-3.X; 3.14 and 3.15, when missing, in a Debian sid root made
# by debootstrap and cached under /var/cache (scripts/sid_root.sh, as root). Says which ran and
# which were not found. MATRIX_SKIP leaves versions out (.ci/run: the default Python, which
# `make test` covers).
test-matrix:
	bash scripts/test_matrix.sh

# The demo is an example program, not part of the package (examples/agent_sqlite/demo.py).
demo: build
	$(PY) examples/agent_sqlite/demo.py

bench: build
	$(PY) -m benches.compare
	$(PY) benches/corpora.py
	$(PY) benches/loads_memo.py
	$(PY) benches/loads_trusted.py

# Loads with the memo of validated models: thread walk, history, cold, warm, the 125-turn graph;
# trusted restore on cold loads (issue 14 and 19 rows).
bench-loads: build
	$(PY) benches/loads_memo.py
	$(PY) benches/loads_trusted.py

# LangGraph Server (`langgraph dev`) with and without FAST_SERDE_INSTALL=1, side by side (~4 min).
bench-server: build
	$(PY) benches/bench_server.py

bench-pg: build
	bash scripts/pg_setup.sh
	$(PY) benches/bench_pg.py

# zstd: store sizes of a 150-turn agent thread on SQLite and PostgreSQL (with DeltaChannel too),
# and compression's cost side by side; rewrites the storage section of docs/benchmarks.md.
bench-storage: build
	bash scripts/pg_setup.sh
	$(PY) -m benches.storage

clean:
	rm -rf $(VENV) .venv-lgc-* .venv-latest .venv-3.* target

# Release wheels: manylinux2014 per CPython 3.10-3.15 (zig linker; 3.14/3.15 built inside the sid
# root when the machine has neither) and the sdist, each wheel installed into a fresh venv of its
# Python with fast-serde[langgraph] and every module imported (scripts/wheels.sh); .ci/run runs it.
wheels: $(STAMP)
	VENV=$(VENV) scripts/wheels.sh

# The free-threaded build (CPython 3.14t) type-checked and linted without an interpreter
# (a PYO3_CONFIG_FILE); .ci/run runs it.
test-ft-build:
	bash scripts/check_free_threaded.sh

# The "latest" lane: the newest langgraph, langgraph-checkpoint, langchain-core and pydantic the
# registry serves, unpinned, in .venv-latest (scripts/test_latest.sh); .ci/run runs it.
test-latest:
	scripts/test_latest.sh $(PYTHON)
