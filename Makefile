# liveflow: the two commands a new machine needs are `make run` and `make test`.

SHELL   := /bin/bash
MODULES := pkg schemas services/ingest services/scorer services/edge services/alerts loadtest tools helm/charttest
# Modules tested without the race detector: helm/charttest renders the chart
# with Helm and the Kubernetes API types in one goroutine, and instrumenting
# that dependency tree would cost minutes of compiling on every new machine.
NORACE_MODULES := helm/charttest
SERVICES := ingest scorer edge alerts
BIN     := $(CURDIR)/bin
STATICCHECK_VERSION := v0.8.2
# The real Kafka broker of the integration suite keeps its state here.
KAFKA_DIR := $(CURDIR)/.cache/kafka-broker

.PHONY: run build test test-unit test-e2e test-kafka test-web web bench bench-pkg bench-load bench-ramp bench-edge bench-scale test-scale lint fmt deps clean images

## run: build and start the whole pipeline on kfake and a private redis-server;
## the live feed is on http://localhost:8080 (LIVEFLOW_HTTP_ADDR moves it).
run: deps build
	@$(BIN)/devstack -bin $(BIN)

## build: compile the service binaries, the local stack runner, flowctl and
## the load tester into bin/.
build:
	@mkdir -p $(BIN)
	@for s in $(SERVICES); do (cd services/$$s && go build -o $(BIN)/$$s .) || exit 1; done
	@cd tools && go build -o $(BIN)/devstack ./devstack
	@cd tools && go build -o $(BIN)/flowctl ./flowctl
	@cd loadtest && go build -o $(BIN)/loadtest .

deps:
	@scripts/deps.sh redis
	@scripts/deps.sh quant

## test: the web app's tests, unit tests of every module (the browser tests
## of the web app among them, in tools/webe2e), then the end-to-end suite
## against kfake and against a real Apache Kafka 4.x broker. The scale-out
## and fault suites are targets of their own (test-scale, test-faults),
## which .ci/run runs after this.
test: deps test-web test-unit test-kafka

## web: build the browser app (web/) into the folder the edge embeds; commit
## the result (make test checks that it is the build of the sources).
web:
	@scripts/deps.sh browser
	@cd web && npm ci --no-audit --no-fund && npm run build

## test-web: type checks and Vitest unit tests of the browser app, and the
## check that the embedded build is the build of the sources.
test-web:
	@scripts/deps.sh browser
	@cd web && npm ci --no-audit --no-fund && npm run typecheck && npm test && npm run check-build

test-unit:
	@for m in $(MODULES); do \
		echo "== go test $$m"; \
		race=-race; case " $(NORACE_MODULES) " in *" $$m "*) race=;; esac; \
		(cd $$m && go test $$race -count=1 ./...) || exit 1; \
	done

## test-kafka: the end-to-end suite against a real single-node KRaft broker,
## fetched from Maven Central on first use.
test-kafka:
	@scripts/deps.sh toolchain
	@rm -rf $(KAFKA_DIR); mkdir -p $(KAFKA_DIR)
	@set -e; trap '$(CURDIR)/scripts/kafka/broker.sh stop $(KAFKA_DIR)' EXIT; \
		brokers=$$($(CURDIR)/scripts/kafka/broker.sh start $(KAFKA_DIR)); \
		echo "== go test tools/e2e against Apache Kafka at $$brokers"; \
		cd tools && LIVEFLOW_KAFKA_BROKERS=$$brokers go test -race -count=1 ./e2e/

## test-scale: the scale-out suite. The Redis suites of pkg (stream writer,
## notifications, slot balance) and the edge hub run again, each test on a
## private three-master Redis Cluster (LIVEFLOW_TEST_REDIS=cluster); then the
## end-to-end scale tests (build tag scale): a cluster master failover and a
## crash mid-stream, scorers joining and leaving the group, three edges
## behind haproxy with one drained. Installs haproxy when missing.
test-scale: deps
	@scripts/deps.sh haproxy
	@echo "== go test pkg and the edge hub on a Redis Cluster"
	@(cd pkg && LIVEFLOW_TEST_REDIS=cluster go test -race -count=1 ./stream/ ./redisconn/ ./localredis/...) || exit 1
	@(cd services/edge && LIVEFLOW_TEST_REDIS=cluster go test -race -count=1 ./internal/hub/) || exit 1
	@echo "== go test tools/e2e scale-out suite"
	@cd tools && go test -race -count=1 -tags scale -run '^TestScale' -timeout 20m ./e2e/

## test-faults: the fault-injection suite (tools/faults): ingest, a scorer,
## an edge, redis-server and Kafka are killed with SIGKILL and started again,
## in a seeded random order at random moments, while WebSocket clients
## follow a tape across edges; it fails unless every client got exactly the
## events the ticks in Kafka produce, none lost, none twice. On a kafkafake
## process, and with CI=true (or FAULTS_REAL_KAFKA=1) again on a real Kafka
## 4.4 broker. The seed is printed; FAULTS_SEED=N replays a run and
## FAULTS_FLAGS adds flags (see go run ./tools/faults -h).
.PHONY: test-faults
FAULTS_KAFKA_DIR := $(CURDIR)/.cache/kafka-faults
test-faults: deps build
	@cd tools && go build -o $(BIN)/kafkafake ./kafkafake && go build -o $(BIN)/faults ./faults
	@echo "== fault suite on kfake"
	@$(BIN)/faults -bin $(BIN) -seed $(or $(FAULTS_SEED),0) $(FAULTS_FLAGS)
	@if [ "$$CI" = true ] || [ -n "$(FAULTS_REAL_KAFKA)" ]; then \
		scripts/deps.sh toolchain; \
		rm -rf $(FAULTS_KAFKA_DIR); mkdir -p $(FAULTS_KAFKA_DIR); \
		set -e; trap '$(CURDIR)/scripts/kafka/broker.sh stop $(FAULTS_KAFKA_DIR)' EXIT; \
		brokers=$$($(CURDIR)/scripts/kafka/broker.sh start $(FAULTS_KAFKA_DIR)); \
		echo "== fault suite on Apache Kafka at $$brokers"; \
		$(BIN)/faults -bin $(BIN) -seed $(or $(FAULTS_SEED),0) -kafka-brokers $$brokers \
			-broker-dir $(FAULTS_KAFKA_DIR) -broker-script $(CURDIR)/scripts/kafka/broker.sh $(FAULTS_FLAGS); \
	fi

## bench: the benchmarks of the pure packages, then the standard load
## scenario on the local stack (loadtest): ingest sends 10,000 ticks/s for
## 60 s, twice that for the first 10 s, to 2,000 WebSocket clients whose
## filters draw about 46,000 deliveries/s. It fails when an event is lost or
## duplicated or the p99 from ingest to client is 25 ms or more; the report
## is .cache/bench/report.html. LOADTEST_FLAGS adds flags.
bench: bench-pkg bench-load

bench-pkg:
	@for m in pkg; do (cd $$m && go test -run '^$$' -bench . -benchmem ./...) || exit 1; done

bench-load: deps build
	@$(BIN)/loadtest -bin $(BIN) -check -out .cache/bench $(LOADTEST_FLAGS)

## bench-ramp: steady steps from 5,000 ticks/s up by 5,000 every 15 s, with
## the clients of the standard scenario, until a step's p99 reaches 50 ms:
## the highest rate the local stack sustains. Report in .cache/bench-ramp/.
bench-ramp: deps build
	@$(BIN)/loadtest -bin $(BIN) -profile ramp -out .cache/bench-ramp $(LOADTEST_FLAGS)

## bench-scale: the load scenario of bench-load (LOADTEST_FLAGS adds flags)
## against the scaled-out stack of tools/scalestack instead of one process of
## each: 3 scorers, 3 edges behind haproxy, a Redis Cluster of 3 masters
## with a replica each. Report in .cache/bench-scale/, stack log in
## .cache/scalestack.log.
bench-scale: deps build
	@scripts/deps.sh haproxy
	@cd tools && go build -o $(BIN)/scalestack ./scalestack
	@mkdir -p .cache && rm -f .cache/scalestack.env
	@$(BIN)/scalestack -bin $(BIN) -env .cache/scalestack.env >.cache/scalestack.log 2>&1 & pid=$$!; \
		trap 'kill $$pid 2>/dev/null; wait $$pid' EXIT; \
		until [ -s .cache/scalestack.env ]; do \
			kill -0 $$pid 2>/dev/null || { echo "scalestack failed: see .cache/scalestack.log"; exit 1; }; \
			sleep 0.2; \
		done; \
		. .cache/scalestack.env; \
		$(BIN)/loadtest -bin $(BIN) -url $$LIVEFLOW_SCALE_URL -kafka-brokers $$LIVEFLOW_SCALE_BROKERS \
			-ticks-topic $$LIVEFLOW_SCALE_TOPIC -metrics $$LIVEFLOW_SCALE_METRICS \
			-out .cache/bench-scale $(LOADTEST_FLAGS)

## bench-edge: one edge process under 10,000 WebSocket clients with 20-symbol
## watchlists and filters: deliveries per edge CPU-second, latency from Redis
## to client, lost and starved clients. edgebench starts a private
## redis-server and the edge (a process of its own, all cores) and stops both;
## EDGEBENCH_FLAGS adds flags, e.g. EDGEBENCH_FLAGS='-rate 60 -duration 60s'.
bench-edge: deps
	@mkdir -p $(BIN)
	@cd services/edge && go build -o $(BIN)/edge .
	@cd loadtest && go build -o $(BIN)/edgebench ./cmd/edgebench
	@$(BIN)/edgebench -edge-bin $(BIN)/edge -clients 10000 -symbols 20 $(EDGEBENCH_FLAGS)

## images: the container image of each service (services/*/Dockerfile, built
## from the repository root) as liveflow/<service>:$(IMAGE_TAG), with docker
## or podman, whichever answers; CONTAINER_ENGINE picks one. Not part of test.
IMAGE_TAG ?= $(shell sed -n 's/^appVersion: *"*\([^"]*\)"*$$/\1/p' helm/liveflow/Chart.yaml)
images:
	@engine=$(CONTAINER_ENGINE); \
		if [ -z "$$engine" ]; then for e in docker podman; do \
			if command -v $$e >/dev/null && $$e info >/dev/null 2>&1; then engine=$$e; break; fi; \
		done; fi; \
		if [ -z "$$engine" ]; then \
			echo "images: no container engine found: neither docker nor podman is installed and answering \"info\"; nothing built"; exit 1; \
		fi; \
		for s in $(SERVICES); do \
			echo "== $$engine build liveflow/$$s:$(IMAGE_TAG)"; \
			$$engine build -f services/$$s/Dockerfile -t liveflow/$$s:$(IMAGE_TAG) . || exit 1; \
		done

## lint: gofmt, go vet and staticcheck over every module.
lint:
	@unformatted=$$(gofmt -l $(MODULES)); \
		if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	@test -x $(BIN)/staticcheck || GOBIN=$(BIN) go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@for m in $(MODULES); do \
		(cd $$m && go vet ./... && $(BIN)/staticcheck ./...) || exit 1; \
	done
	@cd tools && go vet -tags scale ./e2e/ && $(BIN)/staticcheck -tags scale ./e2e/

clean:
	rm -rf $(BIN) .cache
