# outreach: `make demo` runs one full cycle on the bundled test world; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
# pytest-xdist workers: the suite waits on servers, subprocesses and pacing as much as it computes. make check
# takes one more than the cores: its tests wait more than they compute (BENCHMARKS.md, "Test suite").
TEST_WORKERS ?= 2
CHECK_WORKERS ?= 3

.PHONY: demo test check lint format bench bench-langid mutate install services lock clean translations translations-update image-check

# The dashboard's catalogs: .po files are the source (in git), .mo files are compiled from them here.
LOCALE := outreach/web/locale
CATALOGS := $(wildcard $(LOCALE)/*/LC_MESSAGES/messages.po)

$(STAMP): requirements/runtime.lock requirements/dev.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements/dev.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	# The commit hook (.pre-commit-config.yaml) runs lint; only in a git checkout, never fatal.
	-test -d .git && $(BIN)/pre-commit install --install-hooks >/dev/null
	touch $(STAMP)

install: $(STAMP) translations

# Compile the catalogs (a .po newer than its .mo is compiled again); a catalog that does not compile stops here.
translations: $(STAMP) $(CATALOGS:.po=.mo)

$(LOCALE)/%/LC_MESSAGES/messages.mo: $(LOCALE)/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --statistics -d $(LOCALE) -l $* -i $< -o $@

# After changing a dashboard text: extract every marked text (babel.cfg) and merge it into the catalogs; then
# translate what is new or fuzzy in each messages.po (tests/test_translations.py lists what is missing).
translations-update: $(STAMP)
	$(BIN)/pybabel extract --no-location --sort-output --width 120 --project=outreach --copyright-holder="the outreach authors" -F babel.cfg -k N_ -o $(LOCALE)/messages.pot .
	$(BIN)/pybabel update --ignore-obsolete --width 120 -i $(LOCALE)/messages.pot -d $(LOCALE)
	# pybabel writes the project without a version as "Project-Id-Version:  outreach"; keep the header as it was.
	sed -i 's/^"Project-Id-Version:  outreach/"Project-Id-Version: outreach/' $(LOCALE)/messages.pot $(CATALOGS)

demo: install
	$(BIN)/outreach demo

# What the suite uses, installed or started when missing: Debian's chromium and libatomic1, and the suite's own
# throwaway PostgreSQL cluster on 127.0.0.1:25432 (scripts/test-postgres; stop it with `scripts/test-postgres stop`).
# With OUTREACH_TEST_POSTGRES set to an admin URL, the suite uses that server instead.
services:
	scripts/ensure-test-services

# The admin URL the suite gets: OUTREACH_TEST_POSTGRES when set, else the throwaway cluster's.
WITH_TEST_POSTGRES = dsn="$${OUTREACH_TEST_POSTGRES:-$$(scripts/test-postgres dsn)}" && OUTREACH_TEST_POSTGRES="$$dsn"

# Everything, on both databases, 30 crash-safety kills: what CI runs.
test: install services
	$(WITH_TEST_POSTGRES) $(BIN)/pytest -n $(TEST_WORKERS)

# The developer's answer in minutes: database tests on SQLite (on PostgreSQL too only the tests about it), a few
# crash-safety kills. Run it, and `make lint`, before every commit.
check: install services
	$(WITH_TEST_POSTGRES) OUTREACH_CRASH_TRIALS=8 $(BIN)/pytest -n $(CHECK_WORKERS) --fast -m "not slow" -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python -m bench.cycle
	$(BIN)/python -m bench.send

# Language detectors on ../shared/data/langid (about 9 minutes; --quick: 1-2): see BENCHMARKS.md.
bench-langid: install
	nice $(BIN)/python -m bench.langid

# Build the image with buildah and run it with podman as uid 10001: `outreach demo`, one JavaScript crawl, and
# `serve` until its HEALTHCHECK says healthy (scripts/image-check; SLIM=1 also checks the image without chromium).
# Not part of `make test`: minutes and a few GB of disk. Needs buildah, podman and runc (Debian packages).
image-check:
	scripts/image-check

# A small mutation run (cosmic-ray) on the outbox, selection, compose, audit and opt-out modules, in a copy of the
# tree under var/mutate/; not part of `make test`. MUTATE_ARGS="--per-module 0" runs every mutant (hours).
# The last score is in RELIABILITY.md.
MUTATE_ARGS ?= --per-module 12
mutate: install
	nice $(BIN)/python scripts/mutate $(MUTATE_ARGS)

# Re-resolve the pinned versions from pyproject.toml (needs the package registry).
lock:
	rm -rf /tmp/outreach-lock && $(PYTHON) -m venv /tmp/outreach-lock
	/tmp/outreach-lock/bin/pip install --quiet . && \
	  { echo "# Exact runtime versions CI tested. Regenerate with: make lock"; \
	    /tmp/outreach-lock/bin/pip freeze --exclude-editable | grep -v '^outreach'; } > requirements/runtime.lock
	/tmp/outreach-lock/bin/pip install --quiet '.[dev]' && \
	  { echo "# Runtime pins plus the development tools. Regenerate with: make lock"; echo "-r runtime.lock"; \
	    /tmp/outreach-lock/bin/pip freeze --exclude-editable | grep -v '^outreach' | \
	    grep -vxFf requirements/runtime.lock; } > requirements/dev.lock

clean:
	scripts/test-postgres destroy
	rm -rf $(VENV) var/demo
