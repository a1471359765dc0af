# The two commands of the contract are `make demo` and `make test`; both start from nothing.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(VENV)/bin/pip
STAMP   := $(VENV)/.deps-installed
PYTHON  ?= python3

.PHONY: all setup build test test-rust test-python test-fuzz test-bench-build test-matrix lint demo bench bench-pg clean fuzz
FUZZ_SECONDS ?= 300

all: test

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Every pinned dependency lives in requirements-dev.txt.
$(STAMP): requirements-dev.txt | $(PY)
	$(PIP) install --quiet -r requirements-dev.txt
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
test-python: build
	bash scripts/pg_setup.sh
	$(PY) -m pytest -q

fuzz: build
	VENV=$(VENV) scripts/fuzz.sh $(FUZZ_SECONDS)

# Bounded pass of `make test`: 45 s of fuzzing on plain stable cargo, fixed seed.
test-fuzz: build
	VENV=$(VENV) FUZZ_ENGINE=loop FUZZ_PY_ENGINE=mutate FUZZ_SEED=1 scripts/fuzz.sh 45

# The Criterion benches (benches/criterion, a standalone crate) must keep compiling. This only
# checks that they build: without the fat LTO of a real `cargo bench`, which would take minutes.
test-bench-build: $(STAMP)
	CARGO_PROFILE_BENCH_LTO=false CARGO_PROFILE_BENCH_CODEGEN_UNITS=16 PYO3_PYTHON=$(abspath $(PY)) \
		cargo bench --no-run --quiet --manifest-path benches/criterion/Cargo.toml

test: build test-rust lint test-bench-build test-fuzz test-python

# The build and the pytest suite on every CPython 3.10-3.13 this machine has (pyenv's or on
# PATH), each in its own venv .venv-3.X; says which ran and which were not found. MATRIX_SKIP
# leaves versions out (.ci/run: the default Python, which `make test` covers).
test-matrix:
	bash scripts/test_matrix.sh

demo: build
	$(PY) -m fast_serde demo

bench: build
	$(PY) benches/compare.py

bench-pg: build
	bash scripts/pg_setup.sh
	$(PY) benches/bench_pg.py

clean:
	rm -rf $(VENV) .venv-3.* target
