VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-avx2 bench docs clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e ".[test]"
	touch $(STAMP)

$(VENV)/.bench: $(STAMP)
	$(VENV)/bin/pip install -q -e ".[test,bench]"
	touch $(VENV)/.bench

$(VENV)/.docs: $(STAMP)
	$(VENV)/bin/pip install -q -e ".[docs]"
	touch $(VENV)/.docs

demo: $(STAMP)
	$(PY) examples/wordnet_search.py

test: $(STAMP)
	$(PY) -m pytest -q

# the suite as on an AVX2 CPU without AVX-512: results must not depend on the instruction set
test-avx2: $(STAMP)
	NUMBA_CPU_NAME=haswell OPENBLAS_CORETYPE=Haswell $(PY) -m pytest -q

bench: $(VENV)/.bench
	$(PY) benchmarks/extreme_classification.py

# the API reference from the docstrings, any Sphinx warning an error
docs: $(VENV)/.docs
	$(PY) -m sphinx -E -W --keep-going -q -b html docs/api docs/_build/api
	@echo "API reference: docs/_build/api/index.html"

clean:
	rm -rf $(VENV) .pytest_cache docs/_build
