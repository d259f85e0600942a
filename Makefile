# The README's commands. Every target creates .venv (and installs nianbao) when missing.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
NIANBAO := $(VENV)/bin/nianbao
DEMO_DIR ?= data/demo
PORTALS ?= crawlers/portals
PREFECT_PORT ?= 4200

# Prefect's environment (no telemetry, ...) is set in one place, flows/prefect_env.py: by the
# nianbao CLI and the tests themselves, and here for `prefect server` by running it through it.

.PHONY: demo test lint serve bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

# The whole pipeline once, offline: the bundled sample portal (tests/portal) on 127.0.0.1, the
# nightly flow against it, then the run summary, its quality failures, three research queries and
# the static HTML report (nianbao report).
demo: export COLUMNS ?= 150
demo: $(VENV)/.installed
	@rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	@[ -f /usr/share/tesseract-ocr/5/tessdata/chi_sim.traineddata ] || echo "== no OCR models:" \
	  "scanned reports are skipped as ocr_missing (apt-get install tesseract-ocr-chi-sim" \
	  "tesseract-ocr-eng)"
	@echo "== starting the sample portal on 127.0.0.x"
	@$(PY) -m tests.portal --configs $(DEMO_DIR)/portals > $(DEMO_DIR)/portal.log 2>&1 & \
	portal=$$!; trap 'kill $$portal 2>/dev/null' EXIT INT TERM; \
	for i in $$(seq 1 100); do grep -q serving $(DEMO_DIR)/portal.log 2>/dev/null && break; \
	  sleep 0.2; done; \
	grep -q serving $(DEMO_DIR)/portal.log || { cat $(DEMO_DIR)/portal.log; exit 1; }; \
	cat $(DEMO_DIR)/portal.log; \
	echo "== running the nightly flow once (Prefect, ephemeral server)"; \
	$(NIANBAO) run --portals $(DEMO_DIR)/portals --data-dir $(DEMO_DIR) --delay 0 && \
	echo "== reports read by OCR (the portal's scanned PDF and 图片版 page; see docs/ocr.md)"; \
	$(NIANBAO) query --data-dir $(DEMO_DIR) "SELECT agency, year, format, extractor, status, \
	  source_url FROM reports WHERE extractor LIKE '%ocr%' ORDER BY source_url" || exit 1; \
	for q in requests_by_year denial_rates arithmetic_failures; do \
	  echo "== research query docs/queries/$$q.sql"; sed -n '1,3p' docs/queries/$$q.sql; \
	  $(NIANBAO) query --file docs/queries/$$q.sql --data-dir $(DEMO_DIR) || exit 1; done; \
	echo "== the researchers' report (figures, their SQL and rows; open it in a browser)"; \
	$(NIANBAO) report --out $(DEMO_DIR)/report --data-dir $(DEMO_DIR)

test: $(VENV)/.installed
	$(PY) -m pytest

# ruff, with the rules chosen in pyproject.toml; CI runs it before the tests
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

# A local Prefect server (UI on http://127.0.0.1:$(PREFECT_PORT)) and the served `nightly`
# deployment; Ctrl-C or SIGTERM stops both.
serve: $(VENV)/.installed
	@mkdir -p data
	@PREFECT_HOME=$(CURDIR)/data/prefect PREFECT_UI_API_URL=http://127.0.0.1:$(PREFECT_PORT)/api \
	  $(PY) -m flows.prefect_env $(VENV)/bin/prefect server start --host 127.0.0.1 \
	  --port $(PREFECT_PORT) > data/prefect-server.log 2>&1 & server=$$!; \
	trap 'kill $$server 2>/dev/null; wait $$server 2>/dev/null' EXIT INT TERM; \
	echo "Prefect UI: http://127.0.0.1:$(PREFECT_PORT) (server log: data/prefect-server.log)"; \
	PREFECT_API_URL=http://127.0.0.1:$(PREFECT_PORT)/api $(NIANBAO) serve --portals $(PORTALS) \
	  --data-dir data --wait-for-api 180

bench: $(VENV)/.installed
	$(PY) benchmarks/extract.py
	$(PY) benchmarks/crawl.py
	$(PY) benchmarks/warehouse.py --sizes 10000,100000

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
