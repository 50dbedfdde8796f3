# One entry point for people and CI. `make test` is what .ci/run runs (through the README's command).
PY ?= python

.PHONY: install lint typecheck layers unit docs bench test

install:
	$(PY) -m pip install -e ".[dev]"

lint:
	ruff check .
	ruff format --check .

typecheck:
	mypy

layers:
	lint-imports

unit:
	$(PY) -m pytest -q -p no:cacheprovider --durations=12 --cov --cov-report=term --cov-fail-under=90

docs:
	$(PY) -m pytest -q -p no:cacheprovider --doctest-modules rftkit_nb --ignore=rftkit_nb/testing/__main__.py

bench:
	$(PY) benchmarks/run_all.py --quick

test: lint typecheck layers unit docs bench
