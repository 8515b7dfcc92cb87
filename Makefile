# Meridian build and test entry points. `make test` is what CI runs
# (.ci/run); it stops at the first failing stage and exits non-zero.

GO        ?= go
FUZZTIME  ?= 5s
BENCHTIME ?= 100ms
BENCHPKGS ?= ./xmpp/... ./core/... ./node/... ./storage/...
BENCHPKGS += ./link/...

export GO FUZZTIME

.PHONY: all build deps vet test test-unit fuzz e2e web sint bench clean redis-test postgres-test cluster-test cluster cluster-stop

all: build

## build: compile every package, and the binaries into bin/
build:
	$(GO) build ./...
	$(GO) build -o bin/meridian ./cmd/meridian
	$(GO) build -o bin/meridianctl ./cmd/meridianctl

## deps: install the Debian packages the tests need (fast when present)
deps:
	scripts/deps.sh

## vet: go vet on every package
vet:
	$(GO) vet ./...

## test-unit: the Go unit tests, uncached, with the race detector
test-unit:
	$(GO) test -race -count=1 ./...

## fuzz: every native fuzz test in the repo for $(FUZZTIME) each
fuzz:
	scripts/fuzz.sh

## e2e: the server binary driven by slixmpp, with a kill -9 restart check
e2e: deps
	tests/e2e/run.sh

## web: real web clients against a fresh node: Converse.js in Chromium over
## WebSocket and BOSH, xmpp.js over WebSocket (npm packages pinned in
## tests/web/package-lock.json; screenshots in tests/web/artifacts)
web: deps
	tests/web/run.sh

## sint: the XMPP interop tests (Smack's SINT, pinned in tests/sint/pom.xml)
## against a fresh node; installs Java and Maven when missing, caches the
## jars in tests/sint/.cache, updates the table in docs/compliance.md
sint: deps
	tests/sint/run.sh

## redis-test: the tests against a real Redis (build tag redis): the
## session registry's conformance suite, a Redis restart and outage; the
## tests start redis-server on free loopback ports and stop it
redis-test: deps
	scripts/redis-test.sh

## postgres-test: the tests against a real PostgreSQL (build tag postgres):
## the storage conformance suite on storage/postgres; the script starts a
## throwaway server on a free loopback port and removes it
postgres-test: deps
	scripts/postgres-test.sh

## cluster-test: the local cluster (Redis, three cores, two edges, each a
## process) on free loopback ports, driven by clients: chat and presence
## across edges, a core killed mid-conversation, an edge drained
cluster-test: deps
	scripts/cluster-test.sh

## cluster: start the local cluster to try (scripts/cluster.sh; README)
cluster: deps
	scripts/cluster.sh start

## cluster-stop: stop the local cluster
cluster-stop:
	scripts/cluster.sh stop

## test: the whole suite, in order: deps, vet, unit tests, redis-test,
## postgres-test, cluster-test, fuzz, e2e, web, sint
test:
	@start=$$(date +%s); \
	for stage in deps vet test-unit redis-test postgres-test cluster-test fuzz e2e web sint; do \
		echo "=== make $$stage"; \
		$(MAKE) --no-print-directory $$stage || { echo "=== make test: FAILED in $$stage after $$(( $$(date +%s) - start ))s"; exit 1; }; \
	done; \
	echo "=== make test: all stages passed in $$(( $$(date +%s) - start ))s"

## bench: every benchmark once, briefly ($(BENCHTIME) each)
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) $(BENCHPKGS)

clean:
	rm -rf bin
