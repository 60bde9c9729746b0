# The README's commands. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 5080

# What is installed is pinned, with hashes: requirements.lock (the server, what a production
# install needs), requirements-dev.lock (with the dev extra: tests, ruff, bench) and
# auditor/requirements.lock (the auditor's distribution: the same pins, fewer packages), all
# compiled by `make lock`.
LOCK     := requirements.lock
DEV_LOCK := requirements-dev.lock
AUDIT_LOCK := auditor/requirements.lock

.PHONY: install lock run stack test check soak storm bench bench-matrix bench-bodies bench-scale-out lint format clean translations

$(STAMP): pyproject.toml $(LOCK) $(DEV_LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed (found " + sys.version.split()[0] + ")")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

install: $(STAMP)

## make lock: recompile the three lock files from pyproject.toml with pip-tools (kept in .venv-lock);
## existing pins stay unless LOCK_ARGS=--upgrade (or --upgrade-package NAME). Run it with the
## oldest supported Python, 3.11, so that the lock holds everything 3.11 needs.
LOCK_VENV := .venv-lock
PIP_TOOLS := pip-tools==7.6.2
LOCK_ARGS ?=
COMPILE    = $(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --strip-extras \
	--no-emit-index-url --no-emit-find-links $(LOCK_ARGS)
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_VENV) && \
		$(LOCK_VENV)/bin/python -m pip install --quiet $(PIP_TOOLS); }
	$(COMPILE) --output-file $(LOCK) pyproject.toml
	$(COMPILE) --extra dev --constraint $(LOCK) --output-file $(DEV_LOCK) pyproject.toml
	$(COMPILE) --constraint $(LOCK) --output-file $(AUDIT_LOCK) auditor/pyproject.toml

## make run: create the embedded database, load the demo county (three bodies), serve it and
## print each body's console, display and enrollment URLs
run: install
	$(BIN)/voting-server demo
	$(BIN)/voting-server run --host $(HOST) --port $(PORT)

## make stack: the scale-out stack — STACK_PROCESSES gunicorn processes behind nginx on
## STACK_PORT, PostgreSQL (database created if missing) and Redis (docs/deployment.md)
STACK_PROCESSES ?= 2
STACK_PORT      ?= 8080
STACK_DATABASE  ?= postgresql+psycopg://postgres@127.0.0.1:5432/voting
STACK_REDIS     ?= redis://127.0.0.1:6379/0
stack: install
	$(BIN)/voting-server stack --create-database --processes $(STACK_PROCESSES) --port $(STACK_PORT) \
		--database-url $(STACK_DATABASE) --message-queue $(STACK_REDIS)

## make test: the whole suite (ruff, then pytest); non-zero on any failure, and when pytest
## ran no test at all (its exit 5: nothing collected, or everything deselected). On every
## core (pytest-xdist; worksteal: an idle worker takes tests queued for a busy one), as the
## serial suite outgrew CI's hour and a half on a slow hour; TEST_WORKERS=0 runs it serially.
TEST_WORKERS ?= auto
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest ran no test (exit 5)" >&2; fi; \
	exit $$status

## make check: the fast lane while working — ruff, then every test not marked slow (the
## storm, the kill -9 moments, the browsers, the stack, installs…): a few minutes, not half
## an hour, on every core (pytest-xdist: one worker per core). Like make test, exit 5 (no
## test ran) is a failure. make test is what CI runs.
check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -m "not slow" -n auto; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make check: pytest ran no test (exit 5)" >&2; fi; \
	exit $$status

## make soak: the crash test with thousands of kill -9 moments (SOAK_MOMENTS, default 2000)
SOAK_MOMENTS ?= 2000
soak: install
	VOTING_FAULT_MOMENTS=$(SOAK_MOMENTS) $(BIN)/pytest tests/test_faults.py -p no:cacheprovider

## make storm: every kiosk of a 3,000-seat hall reconnecting at once, with progress
## (STORM_KIOSKS; the same test runs in make test)
STORM_KIOSKS ?= 3000
storm: install
	VOTING_STORM_KIOSKS=$(STORM_KIOSKS) $(BIN)/pytest tests/test_reconnect_storm.py -p no:cacheprovider -s

## make bench: the benchmark of CONTRACTS.md §5 → bench/results/latest.json and
## bench/results/ack_latency.svg (BENCH_ARGS="--members 300 --skip-verify" for a quick run)
bench: install
	$(BIN)/python -m bench.run $(BENCH_ARGS)

## make bench-matrix: the ballot and echo bursts of make bench for every kind of vote (motion,
## selection, evaluation), named and secret, on SQLite, and the secret selection on PostgreSQL
## → bench/results/matrix.json and matrix.svg (MATRIX_ARGS="--members 300" for a quick run)
bench-matrix: install
	$(BIN)/python -m bench.matrix $(MATRIX_ARGS)

## make bench-bodies: 10 bodies × 300 kiosks voting in the same second on one server →
## bench/results/bodies.json (BODIES_ARGS="--bodies 3 --members 50" for a quick run)
bench-bodies: install
	$(BIN)/python -m bench.bodies $(BODIES_ARGS)

## make bench-scale-out: the ballot burst against the scale-out stack with one and with two
## server processes, 3,000 kiosks, staff sign-in, five bursts each → bench/results/scale_out.json (the whole
## stack's CPU per 1,000 ballots and cpu_per_1000_ratio; SCALE_OUT_ARGS: more options)
bench-scale-out: install
	$(BIN)/python -m bench.run --scale-out --sign-in staff --skip-echo --skip-verify \
		--out bench/results/scale_out.json --plot bench/tmp/scale_out_ack_latency.svg $(SCALE_OUT_ARGS)

## make translations: extract every _() into messages.pot, merge it into the zh_CN and en
## catalogs, compile them (.mo files are committed: a fresh clone runs without this step)
I18N := voting_server/translations
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k N_ --add-location=file --sort-output --no-wrap \
		--project=congress-voting --copyright-holder="" -o $(I18N)/messages.pot .
	$(BIN)/pybabel update -i $(I18N)/messages.pot -d $(I18N) --no-wrap --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d $(I18N) --statistics

lint: install
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) $(LOCK_VENV) instance .pytest_cache .ruff_cache .hypothesis
