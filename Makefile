# One recipe per job; the README and .ci/run call these same recipes.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: install lock lint typecheck test demo bench clean docs prism

# The pinned set CI tested (requirements.lock), then the project itself without resolving again.
$(VENV)/.installed: pyproject.toml requirements.lock
	python3 -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $@

install: $(VENV)/.installed

# Re-pin after changing dependencies in pyproject.toml (uv resolves; pip installs the result).
lock: install
	$(PY) -m pip install -q uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra postgres \
		--python-version 3.11 -o requirements.lock

lint: install
	$(BIN)/ruff check src connectors tests bench tools
	$(BIN)/ruff format --check src connectors tests bench tools
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

prism: tools/prism/node_modules/.installed

tools/prism/node_modules/.installed: tools/prism/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix tools/prism --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the Prism contract tests will be skipped"; fi

test: lint typecheck prism
	$(BIN)/pytest -q

demo: install
	$(BIN)/sla-connector demo $(DEMO_ARGS)

bench: install
	$(PY) bench/bench_calendar.py
	$(PY) bench/bench_audit.py
	$(PY) bench/bench_daemon.py
	$(PY) bench/bench_latency.py
	$(PY) bench/bench_simulator.py
	$(PY) bench/bench_soak.py --mode full

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

docs: install
	$(PY) -m sla_connector.cli.docs > docs/cli.md
	$(PY) -m sla_connector.settings.reference > docs/configuration.md
	$(PY) -m sla_connector.web.openapi > docs/openapi.json
