# wasteledger — targets mirror CI. `make help` lists them.
SHELL := /bin/bash
GO    ?= go
BIN   := bin
DATA  ?= ./data

.PHONY: help
help: ## list targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: build
build: ## build the binaries into bin/
	$(GO) build -o $(BIN)/ ./cmd/...

.PHONY: run
run: ## run the service with a seeded demo on the embedded ledger (no setup)
	$(GO) run ./cmd/wasteledger demo --data $(DATA)

.PHONY: deps
deps: ## install the Debian packages tests use (zbar-tools, sqlite3, chromium)
	scripts/install-deps.sh

.PHONY: test
test: deps ## run every test: unit, integration, end-to-end, and the Fabric suite
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...
	$(MAKE) test-fabric

.PHONY: test-go
test-go: ## run the Go tests only (no Fabric network)
	$(GO) test -count=1 -timeout 30m ./...

.PHONY: test-fabric
test-fabric: ## bring up a local Fabric network and run the conformance suite and an HTTP lifecycle on it
	scripts/test-fabric.sh

.PHONY: bench
bench: ## embedded ledger: committed signed handovers/s beside the raw P-256 verify rate
	$(GO) run ./cmd/wasteledger bench ledger

.PHONY: bench-fabric
bench-fabric: ## Fabric: signed handovers through the gateway vs a minimal put-state chaincode
	scripts/bench-fabric.sh

.PHONY: lint
lint: ## gofmt and go vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

.PHONY: network-up
network-up: ## start a local Fabric network (3 Raft orderers, 4 peer orgs, TLS) and deploy the chaincode
	network/up.sh

.PHONY: network-down
network-down: ## stop the local Fabric network
	network/down.sh

.PHONY: clean
clean: ## remove build output and local data (not the Fabric binary cache)
	rm -rf $(BIN) $(DATA)
