# opsdeck — build, test and measure. `make help` lists the targets.
GO       ?= go
BIN      ?= opsdeck
PKGS     := ./...
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
FUZZTIME ?= 30s
SHORT    ?= 0
BENCHCAP := testdata/gen/mixed-1.5m.pcap
ATTACKCAP := testdata/gen/attack-1.5m.pcap

.PHONY: help build run test race bench fuzz lint cross perf soak clean

help:
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: ## build ./opsdeck (static, no cgo, no libpcap)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/opsdeck

run: build ## run the console (live capture needs root or CAP_NET_RAW; try ARGS=--demo)
	./$(BIN) $(ARGS)

test: ## vet and run every test (the README's `go test ./...`; tests needing root, tmux, tcpdump or tshark skip when missing)
	$(GO) vet $(PKGS)
	$(GO) test -count=1 $(PKGS)

race: ## the test suite under the race detector
	$(GO) test -race -count=1 $(PKGS)

bench: ## go benchmarks of decode, flow, proto, detect and analyze
	$(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

fuzz: ## run every fuzz target for FUZZTIME each (SHORT=1: 3s each) and print the table for the README
	FUZZTIME=$(FUZZTIME) SHORT=$(SHORT) PKGS='$(PKGS)' GO=$(GO) ./scripts/fuzz.sh

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: ## gofmt, go vet, go mod tidy and staticcheck (staticcheck.conf)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
	$(GO) run $(STATICCHECK) $(PKGS)

cross: ## cross-compile for macOS (amd64, arm64) and Linux arm64
	CGO_ENABLED=0 GOOS=darwin GOARCH=amd64 $(GO) build -o /dev/null ./cmd/opsdeck
	CGO_ENABLED=0 GOOS=darwin GOARCH=arm64 $(GO) build -o /dev/null ./cmd/opsdeck
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -o /dev/null ./cmd/opsdeck

$(BENCHCAP):
	@mkdir -p $(dir $@)
	$(GO) run ./cmd/opsdeck-gen -n 1500000 -o $@

$(ATTACKCAP): $(wildcard testdata/lab/*.pcap)
	@mkdir -p $(dir $@)
	$(GO) run ./cmd/opsdeck-gen -n 1500000 -lab testdata/lab -o $@

perf: build $(BENCHCAP) $(ATTACKCAP) ## whole-process figures for the README: opsdeck vs ndpiReader, tcpdump and tshark on the mixed and the attack-heavy capture
	./scripts/perf.sh $(BENCHCAP) $(ATTACKCAP)

soak: ## the long hardening runs: million-flow floods through the binary, a 20M-packet day-long soak, live heap per flow
	OPSDECK_SOAK=1 $(GO) test -count=1 -timeout 90m -v -run 'TestAnalyzeHostileTraffic|TestSoak|TestFloodLiveHeap' ./cmd/opsdeck ./internal/hostile

clean:
	rm -f $(BIN)
	rm -rf testdata/gen
