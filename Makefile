# The README's two commands: `make up` (set up and run the platform) and `make test` (set up and run every test).
PYTHON ?= python3.11
VENV := .venv
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.synced

.PHONY: setup up test schemas bench clean

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==0.13.8

$(STAMP): $(UV) uv.lock pyproject.toml $(wildcard libs/*/pyproject.toml services/*/pyproject.toml schemas/pyproject.toml)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --all-packages --python $(VENV)/bin/python
	$(VENV)/bin/python scripts/fetch_sarif_schema.py
	touch $(STAMP)

# The independent IPFS implementation the CID tests compare against (tests/ipfs_reference): installed when npm exists.
IPFS_REFERENCE := tests/ipfs_reference
IPFS_REFERENCE_STAMP := $(IPFS_REFERENCE)/node_modules/.installed

$(IPFS_REFERENCE_STAMP): $(IPFS_REFERENCE)/package.json $(IPFS_REFERENCE)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		(npm ci --prefix $(IPFS_REFERENCE) --no-audit --no-fund --loglevel=error && touch $@) \
		|| echo "setup: npm ci in $(IPFS_REFERENCE) failed; the tests against the IPFS reference will skip"; \
	fi

# Akash's own SDL parser (@akashnetwork/akashjs) the Akash deployment's test checks deploy/akash/deploy.yaml with
# (tests/akash_reference): installed when npm exists. --ignore-scripts: akashjs depends on keytar, whose install
# script builds a native module (needing libsecret) that the SDL parser never loads.
AKASH_REFERENCE := tests/akash_reference
AKASH_REFERENCE_STAMP := $(AKASH_REFERENCE)/node_modules/.installed

$(AKASH_REFERENCE_STAMP): $(AKASH_REFERENCE)/package.json $(AKASH_REFERENCE)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		(npm ci --prefix $(AKASH_REFERENCE) --ignore-scripts --no-audit --no-fund --loglevel=error && touch $@) \
		|| echo "setup: npm ci in $(AKASH_REFERENCE) failed; the Akash SDL test will skip"; \
	fi

# The local development chain `plugyard up` starts for the marketplace (anvil, tools/anvil), installed into the venv
# when npm exists; without it `plugyard up` runs everything but the marketplace and says why.
ANVIL_PREFIX := $(VENV)/anvil
ANVIL_STAMP := $(ANVIL_PREFIX)/node_modules/.installed

$(ANVIL_STAMP): tools/anvil/package.json tools/anvil/package-lock.json | $(UV)
	@if command -v npm >/dev/null 2>&1; then \
		(mkdir -p $(ANVIL_PREFIX) && cp tools/anvil/package.json tools/anvil/package-lock.json $(ANVIL_PREFIX)/ \
		 && npm ci --prefix $(ANVIL_PREFIX) --no-audit --no-fund --loglevel=error && touch $@) \
		|| echo "setup: npm ci in $(ANVIL_PREFIX) failed; plugyard up will run without the marketplace"; \
	fi

setup: $(STAMP) $(IPFS_REFERENCE_STAMP) $(AKASH_REFERENCE_STAMP) $(ANVIL_STAMP)

up: setup
	$(VENV)/bin/plugyard up

test: setup
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

schemas: setup
	$(VENV)/bin/python schemas/generate.py

bench: setup
	$(VENV)/bin/python bench/pipeline.py
	$(VENV)/bin/python bench/telemetry.py

clean:
	rm -rf $(VENV)
