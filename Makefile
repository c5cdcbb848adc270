# mesh — build, test and run.
SHELL := /bin/bash
GO ?= go
BIN := bin/mesh
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X mesh/version.GitSHA=$(VERSION)
# Containers get a system call filter when libseccomp's development files
# are installed (`make deps` installs them as root); without them mesh
# builds and runs without the filter, and says so. urfave_cli_no_docs
# leaves out the CLI library's man-page generator, whose package
# initialisation every process start (each container's init and
# executor among them) would otherwise pay for.
GOTAGS = -tags=urfave_cli_no_docs$$(pkg-config --exists libseccomp 2>/dev/null && echo ,seccomp)

.PHONY: build test test-cgroup2 test-faults deps deps-ui dev bench bench-cluster lint fuzz proto clean

build:
	$(GO) build $(GOTAGS) -ldflags "$(LDFLAGS)" -o $(BIN) .

# The process-level tests run the built binary; they find it through MESH_BIN.
# The process-level tests (e2e, and the cluster benchmark's small run)
# run on their own after the rest, one package at a time, so that their
# clusters do not share the two cores with the container tests.
test: deps deps-ui build lint
	MESH_BIN=$(CURDIR)/$(BIN) $(GO) test $(GOTAGS) -count=1 -timeout 15m $$($(GO) list ./... | grep -v -e '^mesh/e2e$$' -e '^mesh/bench/cluster$$')
	MESH_BIN=$(CURDIR)/$(BIN) $(GO) test $(GOTAGS) -count=1 -timeout 15m -p 1 ./e2e/ ./bench/cluster/
	$(MAKE) --no-print-directory test-cgroup2

# The container tests of the executor and agent packages and the agent's
# kill -9 test once more, in a virtual machine (qemu, software emulation) whose only cgroup hierarchy
# is cgroup v2; scripts/cgroup2-vm.sh installs qemu and fetches Debian's
# kernel package. As root only (CI), like the container tests.
CGROUP2_VM_DIR := bin/cgroup2-vm
test-cgroup2: deps
	@if [ "$$(id -u)" != 0 ]; then \
	  echo "test-cgroup2: not root; skipping the cgroup v2 container tests"; exit 0; fi; \
	mkdir -p $(CGROUP2_VM_DIR) && \
	$(GO) test -c $(GOTAGS) -o $(CGROUP2_VM_DIR)/executor.test ./executor && \
	$(GO) test -c $(GOTAGS) -o $(CGROUP2_VM_DIR)/agent.test ./agent && \
	$(GO) test -c $(GOTAGS) -o $(CGROUP2_VM_DIR)/e2e.test ./e2e && \
	$(GO) build $(GOTAGS) -o $(CGROUP2_VM_DIR)/mesh . && \
	CGROUP2_VM_DIR=$(CGROUP2_VM_DIR) MESH_BIN=$(CGROUP2_VM_DIR)/mesh scripts/cgroup2-vm.sh \
	  -run 'TestLinux|TestAgentLinux|TestAgent_KillNineKeepsTasksRunning|TestAgent_RecoverCleanupKillsExecutors|TestAgent_KillNineDuringALaunchBurst' \
	  $(CGROUP2_VM_DIR)/executor.test $(CGROUP2_VM_DIR)/agent.test $(CGROUP2_VM_DIR)/e2e.test

# The fault-injection suite's long configuration: at least 100 random
# kills and stops of servers and agents, one every 3-8 s, under four
# concurrent mesh execute runs of 100 tasks, and on until the runs have
# started 5,000 tasks (about a quarter of an hour on two cores; `make
# test` runs a short configuration). SEED=n replays a schedule; without
# it the seed comes from the clock and is printed. FAULTS_DIR=dir keeps
# the logs and work directories (docs/reliability.md).
FAULTS_FLAGS := -faults.count 100 -faults.gap-min 3s -faults.gap-max 8s \
  -faults.workers 4 -faults.instances 100 -faults.settle 3m \
  -faults.min-tasks 5000
test-faults: deps build
	MESH_BIN=$(CURDIR)/$(BIN) $(GO) test $(GOTAGS) -count=1 -timeout 40m -v \
	  -run '^TestFaults_NothingLostNothingHung$$' ./e2e/ $(FAULTS_FLAGS) \
	  $(if $(SEED),-faults.seed $(SEED)) $(if $(FAULTS_DIR),-faults.dir $(FAULTS_DIR))

# System packages: busybox-static, from which the linux containerizer
# tests build a root filesystem image, and libseccomp's development files
# and pkg-config, for the containers' system call filter. Installed only
# as root (CI); elsewhere the container tests skip.
DEPS := busybox-static libseccomp-dev pkg-config
deps:
	@if [ "$$(id -u)" = 0 ]; then \
	  dpkg -s $(DEPS) >/dev/null 2>&1 || (apt-get update && apt-get install -y $(DEPS)); \
	else \
	  echo "deps: not root; not installing $(DEPS) (the linux containerizer tests will skip)"; \
	fi

# Debian's chromium, which the web UI's browser test (e2e/webui_test.go)
# drives headless. Installed only as root (CI); elsewhere that test skips.
UI_DEPS := chromium
deps-ui:
	@if [ "$$(id -u)" = 0 ]; then \
	  dpkg -s $(UI_DEPS) >/dev/null 2>&1 || (apt-get update && apt-get install -y $(UI_DEPS)); \
	else \
	  echo "deps-ui: not root; not installing $(UI_DEPS) (the web UI browser test will skip)"; \
	fi

dev: deps build
	./$(BIN) dev

bench: deps build
	MESH_BIN=$(CURDIR)/$(BIN) $(GO) test $(GOTAGS) -run '^$$' -bench . -benchtime 1x ./...

# The cluster benchmark (bench/cluster): three `mesh server` processes with
# default flags, simulated agents and frameworks on the real APIs; it prints
# placement, freed-to-offer and failover figures and the leader's memory.
# AGENTS, FRAMEWORKS and TASKS (per framework) choose the shape, e.g.
# `make bench-cluster AGENTS=5000 FRAMEWORKS=100`; BENCH_CLUSTER_FLAGS adds
# flags (`-json`, `-kill-leader=false`, `-time-limit 5m`, `-h` lists them).
AGENTS ?= 1000
FRAMEWORKS ?= 10
TASKS ?= 1000
BENCH_CLUSTER_FLAGS ?=
bench-cluster: build
	$(GO) run ./bench/cluster -mesh $(CURDIR)/$(BIN) -agents $(AGENTS) -frameworks $(FRAMEWORKS) -tasks $(TASKS) $(BENCH_CLUSTER_FLAGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(GOTAGS) ./...

# A short run of every fuzz target (the seeds always run under `make test`).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test $(GOTAGS) -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    $(GO) test $(GOTAGS) -run '^$$' -fuzz "^$$f$$" -fuzztime 15s $$pkg || exit 1; \
	  done; \
	done

# The protobuf encoding of the v1 APIs: mesos/v1pb/proto holds the .proto
# files (Mesos' field names and numbers), and the generated Go code beside
# them is checked in, so that building and testing need no protoc. `make
# proto` regenerates it; it installs protoc (Debian's protobuf-compiler,
# as root) and protoc-gen-go at the version go.mod pins.
PROTO_DIR := mesos/v1pb/proto
PROTO_FILES := $(PROTO_DIR)/mesos/v1/mesos.proto \
  $(PROTO_DIR)/mesos/v1/operator.proto \
  $(PROTO_DIR)/mesos/v1/scheduler/scheduler.proto \
  $(PROTO_DIR)/mesos/v1/executor/executor.proto \
  $(PROTO_DIR)/mesos/v1/master/master.proto \
  $(PROTO_DIR)/mesos/v1/agent/agent.proto
PROTOC_GEN_GO_VERSION = $(shell $(GO) list -m -f '{{.Version}}' google.golang.org/protobuf)
PROTO_BIN := $(CURDIR)/bin/proto
proto:
	@command -v protoc >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y protobuf-compiler; \
	  else echo "proto: protoc is missing; install protobuf-compiler (as root: make proto)"; exit 1; fi; }
	GOBIN=$(PROTO_BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	PATH=$(PROTO_BIN):$$PATH protoc -I $(PROTO_DIR) --go_out=. --go_opt=module=mesh $(PROTO_FILES)

clean:
	rm -rf bin
