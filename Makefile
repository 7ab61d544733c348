# Every target installs what it needs first, from a bare machine, and can be run again safely.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
DEMO_OPTIONS ?=  # e.g. make demo DEMO_OPTIONS=--no-dashboard
# The labelled Weibo data set (see its PROVENANCE.md); it is not part of this repository.
SENTIMENT_DATA ?= ../shared/data/sentiment

.PHONY: install system demo test bench model lint clean

install: $(STAMP) system

# Debian packages the project drives: chromium (QR login and request signing through Playwright;
# `playwright install` cannot download browsers here), fonts-wqy-microhei (a CJK font, so the
# dashboard's word cloud draws Chinese instead of boxes) and redis-server (distributed crawling's
# queue; its tests start their own server). Checked on every run; one apt-get update and install for whatever
# is missing, only as root.
system:
	@missing=; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	dpkg-query -W -f='$${Status}' fonts-wqy-microhei 2>/dev/null | grep -q 'install ok installed' || \
		missing="$$missing fonts-wqy-microhei"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "missing Debian packages:$$missing: run  sudo apt-get install$$missing " \
				"(browser tests are skipped without chromium; the word cloud needs the font)"; \
		fi; \
	fi

# Reinstalled whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "fengxiang needs Python 3.11 or newer"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(VENV)/bin/fengxiang demo $(DEMO_OPTIONS)

test: install
	$(PY) -m pytest

bench: install
	FENGXIANG_SENTIMENT_DATA=$(SENTIMENT_DATA) $(PY) -m benchmarks.nlp
	$(PY) -m benchmarks.crawl
	$(PY) -m benchmarks.run
	$(PY) -m benchmarks.alerts
	$(PY) -m benchmarks.kol
	$(PY) -m benchmarks.dashboard
	$(PY) -m benchmarks.retention
	$(PY) -m benchmarks.service

# Retrain the shipped sentiment model (reproducible: same data, same model).
model: $(STAMP)
	$(PY) -m fengxiang.cli train-sentiment --data $(SENTIMENT_DATA) -o nlp/sentiment/model/weibo-3class.npz

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy fengxiang store nlp crawlers sandbox alerts kol dashboard

clean:
	rm -rf $(VENV) bench-results .pytest_cache .mypy_cache .ruff_cache .hypothesis
