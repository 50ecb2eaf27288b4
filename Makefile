# Partnerdesk: `make run` for a first look, `make test` for the whole suite.
# Both install what they need into .venv from nothing but python3.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Every command make runs (seed_demo's example postback included) builds URLs on this port.
export PORT
export UV_SYSTEM_CERTS := 1
# Byte-code caching keeps every start of Django and pytest fast.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install run serve test lint bench chaos clean demo-code messages screenshots

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv
	$(VENV)/bin/uv pip install --quiet --python $(PY) -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# A first look: SQLite and no other service unless DATABASE_URL / REDIS_URL are set.
run: export PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
run: export DEBUG ?= true
run: export OUTBOUND_ALLOW_PRIVATE ?= true
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py rates_load
	$(PY) manage.py seed_demo --if-empty
	@echo ""
	@echo "  Admin (managers):  $(PUBLIC_BASE_URL)/admin/"
	@echo "  API docs:          $(PUBLIC_BASE_URL)/api/docs/"
	@echo "  Publisher portal:  $(PUBLIC_BASE_URL)/portal/"
	@echo "  Macro reference:   $(PUBLIC_BASE_URL)/admin/macros/"
	@echo "  Health check:      $(PUBLIC_BASE_URL)/healthz"
	@echo "  Demo logins:       admin / manager / analyst (admin), publisher1 / publisher2 (portal),"
	@echo "                     password demo-pass-2026; admin then asks for a code: make demo-code"
	@echo ""
	@# Outbound deliveries, the report rollups' fold and the spool: a Celery worker with beat
	@# when Redis is there, else the embedded dispatcher, a fold every 10 s and a spool load
	@# every minute, the retention of raw IPs and the raw tables' partitions hourly; they stop with
	@# the server.
	@if [ -n "$$REDIS_URL" ]; then \
		$(VENV)/bin/celery -A config worker -B -Q deliveries,celery -l info -s $(VENV)/celerybeat-schedule & \
		workers=$$!; \
	else \
		$(PY) manage.py deliveries_dispatch & \
		workers=$$!; \
		$(PY) manage.py rollup_refresh --every 10 & \
		workers="$$workers $$!"; \
		$(PY) manage.py ingest_spool_replay --every 60 & \
		workers="$$workers $$!"; \
		$(PY) manage.py privacy_retention --every 3600 & \
		workers="$$workers $$!"; \
		$(PY) manage.py partitions_maintain --every 3600 & \
		workers="$$workers $$!"; \
	fi; \
	trap 'kill $$workers 2>/dev/null; wait $$workers 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

# The portal's catalogues (README "Languages"): new strings into locale/*/django.po, then the .mo
# files, which are committed (a fresh clone serves them without gettext). Needs gettext's msgfmt.
# The admin stays in English: its strings are marked but kept out of the portal's catalogues
# (djangojs, the scripts' words: the portal's script only, not static/partners/).
# ADMIN_ONLY: the admin's modules and templates outside admin.py and templates/admin/.
ADMIN_ONLY := admin_views.py partners/wizard.py partners/forms.py partners/services.py ingest/debugger.py ingest/forms.py \
	postbacks/views.py postbacks/clevertap.py accounts/templatetags/onboarding.py accounts/permissions.py \
	accounts/services.py audit/history.py privacy/forms.py privacy/redaction.py apps.py \
	templates/accounts/partials/onboarding.html templates/postbacks/macro_reference.html

messages: install
	$(PY) manage.py makemessages -l es -l pt_BR -l ru --no-location --no-obsolete \
		-i ".venv/*" -i "tests/*" -i "bench/*" -i "demo/*" -i "staticfiles/*" \
		-i "templates/admin/*" -i "templates/accounts/admin/*" -i "admin.py" $(ADMIN_ONLY:%=-i "%")
	$(PY) manage.py makemessages -d djangojs -l es -l pt_BR -l ru --no-location --no-obsolete \
		-i ".venv/*" -i "tests/*" -i "bench/*" -i "staticfiles/*" -i "static/partners/*"
	$(PY) manage.py compilemessages -l es -l pt_BR -l ru

# The demo admin's current second-factor code (README "Second factor").
demo-code:
	@$(PY) manage.py demo_code

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

# The wizard's steps and the portal's tabs at 1366 px and 390 px (phone), as PNGs in screenshots/
# (README "Tests"); the same test fails when a page is not usable at that width. Needs chromium.
screenshots: install
	SCREENSHOT_DIR=screenshots $(PY) -m pytest -p no:cacheprovider tests/browser/test_screens.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: install
	$(PY) -m bench

# Lead postbacks while Redis and the Celery worker are killed; fails when anything was lost.
chaos: install
	$(PY) -m bench.chaos

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .ruff_cache
