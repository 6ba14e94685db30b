# The two commands a new user needs: `make run` and `make test`. Everything else is set-up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= 2
TEST_JOBS ?= 6
TEST_TIMEOUT ?= 900

.PHONY: run test setup chromium lint bench clean

run: setup  ## run the default probes on the embedded demo shop and write a report
	$(BIN)/orderprobe run -n $(JOBS)

# --timeout: a hung test fails instead of stalling the run (15 min: long tests take minutes at load 50+).
# -n 6 on 2 cores: much of the suite's test time is waiting (outages, timeouts, scheduler slots), which
#   more workers fill with CPU work. Quiet machine, same clone: -n 4 323 s (12.5 % idle), -n 5 295 s,
#   -n 6 284 and 287 s (3 % idle), -n 8 297 s (no idle left; each worker's start-up is pure cost).
# --dist loadgroup: tests are handed out one unit at a time, slowest first (tests/durations.txt), so the
#   workers end together (longest-processing-time-first; worksteal's halves ended minutes apart); a unit
#   is one test, or a module's tests that share a module-scoped fixture (tests/conftest.py), set up once.
# --durations=15: the slowest tests, printed at the end (PYTEST_ARGS may override either).
# PYTHONDONTWRITEBYTECODE= : bytecode caches on, whatever the shell says. Without them every worker and
#   every nested run compiles (and pytest re-rewrites) each module from source: ~2 s CPU per collection.
test: setup  ## the whole test suite (real Chromium, real shop, real SQLite)
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadgroup -p no:cacheprovider --timeout=$(TEST_TIMEOUT) --durations=15 $(PYTEST_ARGS)

setup: $(STAMP) chromium

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

chromium: $(STAMP)
	$(BIN)/orderprobe doctor --install

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: setup  ## side-by-side benchmarks; prints ratios, asserts nothing about time
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) var reports-out .pytest_cache
