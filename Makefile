# Mailroom: `make run` to try it, `make test` to check it. Nothing else to install by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
export FLASK_APP := wsgi

.PHONY: install migrate run serve test lint format bench clean translations translations-extract translations-update

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# Languages (README: "Adding a language"). The .po files are the source; the compiled .mo
# files are built here, by run, serve and test, and never committed.
CATALOGUES := $(wildcard translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)

%.mo: %.po $(STAMP)
	$(BIN)/pybabel -q compile -i $< -o $@

translations: $(COMPILED)

# Collect every marked string of app/ and templates/ into translations/messages.pot.
translations-extract: install
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 \
	  --no-location --sort-output -o translations/messages.pot .

# Merge new and changed strings into every language's messages.po (then translate them).
translations-update: translations-extract
	$(BIN)/pybabel -q update -i translations/messages.pot -d translations --no-fuzzy-matching

migrate: install translations
	APP_ENV=$${APP_ENV:-development} $(BIN)/flask db upgrade

# The app at http://127.0.0.1:5000 with the dev mail catcher (/dev/mailbox) and the senders.
run: install translations
	APP_ENV=development $(BIN)/flask db upgrade
	APP_ENV=development $(BIN)/flask dev

# Production settings, locally, under gunicorn (gunicorn.conf.py). Needs a filled-in .env.
serve: install translations
	@test -f .env || test -n "$$SECRET_KEY" || { \
	  echo "make serve uses the production settings: cp .env.example .env, then set"; \
	  echo "SECRET_KEY, APP_BASE_URL and the MAIL_* values (see README.md)."; exit 1; }
	APP_ENV=production $(BIN)/flask db upgrade
	APP_ENV=production $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

test: install translations
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
	rm -rf $(VENV) .pytest_cache test-artifacts translations/*/LC_MESSAGES/*.mo
