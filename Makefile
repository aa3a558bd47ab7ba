# The user's commands. The build itself is CMake's (CMakeLists.txt).
#   make run    install dependencies, build, start careid with demo data
#   make test   the same dependencies, a sanitizer build, unit + fuzz replays, the e2e suite
#               on SQLite and on PostgreSQL (a throwaway server: scripts/with-postgres), the
#               multi-node tests behind HAProxy

JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
BUILD     ?= build/release
TESTBUILD ?= build/asan
LISTEN    ?= 127.0.0.1:8080
DB        ?= sqlite:var/careid.db

.PHONY: all deps build run test unit e2e e2e-postgres e2e-postgres-run e2e-nodes check-postgres \
	format clean bench

all: build

deps:
	./scripts/install-deps

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCAREID_TESTS=OFF >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

# localhost rather than 127.0.0.1 in the public URL: browsers refuse WebAuthn
# (security keys, Windows Hello) on an IP address.
run: build
	$(BUILD)/careid serve --listen $(LISTEN) --db $(DB) --demo \
		--public-url http://localhost:$(lastword $(subst :, ,$(LISTEN)))

# Everything runs under AddressSanitizer and UndefinedBehaviorSanitizer. The
# optimised build that `make run` uses is compiled too: -O2 finds warnings
# (truncation, maybe-uninitialised) that the debug build does not.
test: deps
	cmake -S . -B $(TESTBUILD) -DCMAKE_BUILD_TYPE=Debug -DCAREID_SANITIZE=ON >/dev/null
	cmake --build $(TESTBUILD) -j$(JOBS)
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCAREID_TESTS=OFF >/dev/null
	cmake --build $(BUILD) -j$(JOBS)
	scripts/with-postgres $(MAKE) --no-print-directory unit check-postgres
	@echo "e2e: the suite on SQLite and on PostgreSQL side by side; each one's output when it ends"
	scripts/with-postgres $(MAKE) --no-print-directory -j2 --output-sync=target e2e e2e-postgres-run
	$(MAKE) --no-print-directory e2e-nodes

# ctest: the PostgreSQL backend's unit tests need CAREID_TEST_PG (skipped without).
unit:
	cd $(TESTBUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j$(JOBS)

E2E = CAREID_BIN=$(CURDIR)/$(TESTBUILD)/careid \
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	node --test --test-concurrency=$(JOBS) tests/e2e/

# The e2e suite on SQLite (whatever CAREID_TEST_PG says) ...
e2e:
	CAREID_TEST_PG= $(E2E)

# ... and on PostgreSQL: every server of the suite gets its own database.
e2e-postgres:
	scripts/with-postgres $(MAKE) --no-print-directory e2e-postgres-run
e2e-postgres-run:
	$(E2E)

# Two and more careid nodes behind HAProxy on one PostgreSQL: sign-ins across nodes, key
# rotation, once-only outbox, shared throttling, a node killed and PostgreSQL restarted under
# load (each file starts its own PostgreSQL, so it can stop it).
e2e-nodes:
	CAREID_BIN=$(CURDIR)/$(TESTBUILD)/careid \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		node --test --test-concurrency=1 tests/nodes/

# Every statement of the modules prepares on PostgreSQL; both dialects' migrations make
# the same schema.
check-postgres:
	scripts/with-postgres sh -c 'scripts/sql-check --admin-url "$$CAREID_TEST_PG" && \
		scripts/schema-compare && node --test tests/sql/'

# The release build `make build` makes (and careid-hashcost), measured by bench/run
# against its peers and as two nodes behind HAProxy on PostgreSQL (about an hour; results in
# bench/results/).
bench:
	./scripts/install-deps --bench
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCAREID_TESTS=OFF >/dev/null
	cmake --build $(BUILD) -j$(JOBS)
	bench/run $(BUILD)/careid

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c')

clean:
	rm -rf build
