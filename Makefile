# Mailroom: `make run` to try it, `make test` to check it. Nothing else to install by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
export FLASK_APP := wsgi

.PHONY: install migrate run serve test lint format bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

migrate: install
	APP_ENV=$${APP_ENV:-development} $(BIN)/flask db upgrade

# The app at http://127.0.0.1:5000 with the dev mail catcher (/dev/mailbox) and the senders.
run: install
	APP_ENV=development $(BIN)/flask db upgrade
	APP_ENV=development $(BIN)/flask dev

# Production settings, locally, under gunicorn (gunicorn.conf.py). Needs a filled-in .env.
serve: install
	@test -f .env || test -n "$$SECRET_KEY" || { \
	  echo "make serve uses the production settings: cp .env.example .env, then set"; \
	  echo "SECRET_KEY, APP_BASE_URL and the MAIL_* values (see README.md)."; exit 1; }
	APP_ENV=production $(BIN)/flask db upgrade
	APP_ENV=production $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The benchmarks behind docs/benchmarks.md, one after another (minutes; run on an idle machine).
# BENCH_DATABASE_URL=postgresql+psycopg://... measures PostgreSQL instead of SQLite.
BENCHMARKS := request_latency drain_throughput sender_threads commit_to_smtp account_timing million_rows
bench: install
	@for name in $(BENCHMARKS); do \
	  echo "== bench/$$name.py"; $(BIN)/python bench/$$name.py || exit 1; done

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
