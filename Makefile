# The two commands of the README: `make demo` and `make test`. Both create .venv when missing.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
NIANBAO := $(VENV)/bin/nianbao

export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120

# The bundled sample reports; DOC needs LibreOffice, so it joins only where soffice exists.
DEMO_DOCS := tests/data/shanghai_gov_office_2019.html tests/data/weihai_2020.docx \
             tests/data/hongze_district_2023.pdf tests/data/huaian_city_2024.pdf
ifneq ($(shell command -v soffice 2>/dev/null),)
DEMO_DOCS += tests/data/weihai_2020.doc
endif

.PHONY: demo test bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	$(NIANBAO) extract $(DEMO_DOCS)

test: $(VENV)/.installed
	$(PY) -m pytest

bench: $(VENV)/.installed
	$(PY) benchmarks/extract.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
