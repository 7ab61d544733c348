# Every target installs what it needs first, from a bare machine, and can be run again safely.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
DEMO   := .demo
# The labelled Weibo data set (see its PROVENANCE.md); it is not part of this repository.
SENTIMENT_DATA ?= ../shared/data/sentiment

.PHONY: install demo test bench model lint clean

install: $(STAMP)

# Reinstalled whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "fengxiang needs Python 3.11 or newer"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m fengxiang.demo $(DEMO)

test: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	FENGXIANG_SENTIMENT_DATA=$(SENTIMENT_DATA) $(PY) -m benchmarks.nlp
	$(PY) -m benchmarks.run

# Retrain the shipped sentiment model (reproducible: same data, same model).
model: $(STAMP)
	$(PY) -m fengxiang.cli train-sentiment --data $(SENTIMENT_DATA) -o nlp/sentiment/model/weibo-3class.npz

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy fengxiang store nlp

clean:
	rm -rf $(VENV) $(DEMO) bench-results .pytest_cache .mypy_cache .ruff_cache .hypothesis
