# mesh — build, test and run.
SHELL := /bin/bash
GO ?= go
BIN := bin/mesh
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X mesh/version.GitSHA=$(VERSION)

.PHONY: build test deps dev bench lint fuzz clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) .

# The process-level tests run the built binary; they find it through MESH_BIN.
# The process-level tests (e2e) run on their own after the rest, so that
# their clusters do not share the two cores with the container tests.
test: deps build lint
	MESH_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 15m $$($(GO) list ./... | grep -v '^mesh/e2e$$')
	MESH_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 15m ./e2e/

# System packages the tests need: busybox-static, from which the linux
# containerizer tests build a root filesystem image. Installed only as root
# (CI); elsewhere those tests skip.
deps:
	@if [ "$$(id -u)" = 0 ]; then \
	  dpkg -s busybox-static >/dev/null 2>&1 || (apt-get update && apt-get install -y busybox-static); \
	else \
	  echo "deps: not root; not installing busybox-static (the linux containerizer tests will skip)"; \
	fi

dev: build
	./$(BIN) dev

bench: build
	MESH_BIN=$(CURDIR)/$(BIN) $(GO) test -run '^$$' -bench . -benchtime 1x ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# A short run of every fuzz target (the seeds always run under `make test`).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 15s $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin
