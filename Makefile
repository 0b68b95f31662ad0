# Two commands on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check lint typecheck unit bench fuzz clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,postgres]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/edoc-axis demo

# Two workers for the bulk (most tests wait on subprocesses and servers), then the
# tests that compare CPU time alone, so another worker's load cannot skew them.
test: check
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not serial"
	$(BIN)/python -m pytest -q -m serial

check: lint typecheck

lint: $(STAMP)
	$(BIN)/ruff check edoc_axis tests
	$(BIN)/ruff format --check edoc_axis tests

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/edoc-axis bench

# Coverage-guided fuzzing of the intake examination (atheris); findings land in
# .fuzz/artifacts and become regression tests in tests/fuzz/regressions/.
FUZZ_SECONDS ?= 600
fuzz: $(STAMP)
	mkdir -p .fuzz/corpus .fuzz/artifacts
	$(BIN)/python tests/fuzz/fuzz_intake.py .fuzz/corpus -max_total_time=$(FUZZ_SECONDS) \
		-timeout=10 -rss_limit_mb=2048 -max_len=200000 -artifact_prefix=.fuzz/artifacts/

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
