# raftkv — every target works from a fresh clone.
SHELL := /bin/bash
NODE  := node --enable-source-maps
SEEDS ?= 2000

.PHONY: all install build test sim clean run run1 run2 run3 run4 run5 run5nodes run-test bench fuzz

all: build

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.package-lock.json

build: install
	npx tsc -p tsconfig.json

# The README's test command: every tap test, then the coverage table, ending
# with "N passed, N failed, N skipped". tap's exit code is kept (.tap-exit-code)
# and judged by the summary with its plan, so an interrupted run cannot end green.
# tap builds its Test class from the plugins .taprc names; a run that finds the
# set changed rebuilds it but still starts its tests with the old set's loaders
# (the TypeScript one, which .taprc drops), so rebuild before the run.
node_modules/.tap-plugins-built: .taprc node_modules/.package-lock.json
	npx tap build >/dev/null
	@touch $@

test: install node_modules/.tap-plugins-built
	@rm -rf dist && npx tsc -p tsconfig.json
	@rm -f .tap-exit-code .tap/report/coverage-summary.json; \
	{ npx tap --reporter=tap 2>&1; echo $$? > .tap-exit-code; } | tee .tap-output.txt | { grep -E '^(not ok|# Subtest|    not ok)' || true; }; \
	node scripts/tap-summary.mjs .tap-output.txt --tap-exit "$$(cat .tap-exit-code 2>/dev/null || echo missing)" --coverage .tap/report/coverage-summary.json

# The seeded simulators at scale: make sim SEEDS=100000 [SEED_START=1] runs SEEDS seeds of the
# whole runtime (real Replica nodes on a simulated clock, disk and network), then SEEDS of the core-only profile.
sim: build
	$(NODE) dist/test/sim/runtime/run-runtime-seeds.js --seeds $(SEEDS) $(if $(SEED_START),--start $(SEED_START),)
	$(NODE) dist/test/sim/run-seeds.js --seeds $(SEEDS) $(if $(SEED_START),--start $(SEED_START),)

clean:
	rm -rf dist .tap .tap-output.txt .tap-exit-code

# One node each, in the foreground: run1 bootstraps and leads, run2/run3 join it.
run1: build
	$(NODE) dist/bin/raftkv-cli.js start --env .env1
run2: build
	$(NODE) dist/bin/raftkv-cli.js start --env .env2
run3: build
	$(NODE) dist/bin/raftkv-cli.js start --env .env3
run4: build
	$(NODE) dist/bin/raftkv-cli.js start --env .env4
run5: build
	$(NODE) dist/bin/raftkv-cli.js start --env .env5

# A local 5-node cluster in one terminal.
run5nodes: build
	@scripts/run-cluster.sh .env1 .env2 .env3 .env4 .env5

# All three in one terminal with prefixed output; Ctrl-C stops them all.
run: build
	@scripts/run-cluster.sh .env1 .env2 .env3

# A quick end-to-end check of a local 3-node cluster in temporary directories.
run-test: build
	$(NODE) dist/test/e2e/run-test.js

# raftkv side by side with Redis (appendfsync always) and etcd; see bench/README.md.
# QUICK=1 for a short run. Installs the comparison servers and load generators when missing.
bench: build
	@command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null && command -v etcd >/dev/null && command -v wrk >/dev/null || \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server redis-tools etcd-server etcd-client wrk; }
	$(NODE) dist/bench/suite.js
	$(NODE) dist/bench/subscriber-cost.js $(if $(QUICK),--reps 2 --requests 5000,--reps 3 --requests 20000)

# The fault-injection suite, long: every scenario on 3 and 5 nodes for
# JEPSEN_DURATION_MS each (default 5 minutes), then a table of verdicts.
# JEPSEN_SEED fixes the base seed. Evidence of failures: test/jepsen/results/.
.PHONY: jepsen
jepsen: build
	$(NODE) dist/test/jepsen/run.js --all --duration-ms $(or $(JEPSEN_DURATION_MS),300000) $(if $(JEPSEN_SEED),--seed $(JEPSEN_SEED),)

# The differential test against redis-server at scale: make fuzz-redis N=1000 [SEED=n] [LENGTH=200];
# a mismatch prints its seed and the shortest command sequence that reproduces it.
N ?= 200
.PHONY: fuzz-redis
fuzz-redis: build
	@command -v redis-server >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server; }
	$(NODE) dist/test/redis-diff/run-diff.js --sequences $(N) $(if $(SEED),--seed $(SEED),) $(if $(LENGTH),--length $(LENGTH),)

# Seeded fuzzing at scale (RESP reader and command layer, HTTP shim, peer frames):
# make fuzz FUZZ_CASES=1000000 [FUZZ_SEED=n]; a failure prints the seed and case that replay it.
FUZZ_CASES ?= 1000000
fuzz: build
	FUZZ_CASES=$(FUZZ_CASES) $(if $(FUZZ_SEED),FUZZ_SEED=$(FUZZ_SEED),) $(NODE) dist/test/fuzz/run-fuzz.js
