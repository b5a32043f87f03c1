# xeem — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export XEEM_BIN_DIR ?= $(CURDIR)/bin
PYTEST := $(PY) -m pytest -p no:cacheprovider

.PHONY: help setup venv controlplane lint format test test-unit test-integration test-e2e \
        run bench manifests clean deploy undeploy

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(STAMP) ## Create the virtualenv with xeem and its dev tools

controlplane: ## Build etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok into bin/
	hack/build-controlplane.sh

setup: venv controlplane ## Everything the tests and `make run` need

lint: venv ## ruff and mypy --strict
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy src

format: venv ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix src tests bench
	$(VENV)/bin/ruff format src tests bench

test: setup lint test-unit test-integration ## Lint, then unit, integration and e2e tests on the local control plane
	env -u XEEM_TEST_KUBECONFIG $(PYTEST) -m e2e tests
	hack/check-no-leftovers.sh

test-unit: venv ## Pure-Python tests, no cluster
	$(PYTEST) -m unit tests

test-integration: setup ## Tests against a real API server (local control plane, or XEEM_TEST_KUBECONFIG)
	$(PYTEST) -m integration tests
	hack/check-no-leftovers.sh

test-e2e: setup ## End-to-end tests against $$KUBECONFIG, or the local control plane when unset
	XEEM_TEST_KUBECONFIG="$${KUBECONFIG:-}" $(PYTEST) -m e2e tests

run: setup ## Local control plane + CRDs + controller + a sample workflow, live; Ctrl-C stops
	$(PY) -m xeem.testing $(ARGS)

manifests: venv ## Regenerate config/crd/ from the pydantic models
	$(PY) -m xeem.api.crds config/crd

bench: setup ## Run the benchmarks; JSON in bench/results/, a table on stdout
	$(PY) -m bench

clean: ## Remove build outputs, the virtualenv and caches (the Go build cache stays)
	rm -rf bin $(VENV) build dist src/*.egg-info .mypy_cache .ruff_cache .hypothesis bench/results

KUBECTL ?= kubectl

deploy: ## Install xeem (CRDs, RBAC, controller) into the cluster of the current kubeconfig
	$(KUBECTL) apply -k config/default

undeploy: ## Remove what `make deploy` installed (CRDs included: this deletes every workflow)
	$(KUBECTL) delete -k config/default --ignore-not-found
