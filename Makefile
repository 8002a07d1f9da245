# Short targets so nobody types CMake by hand. See README.md.
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 15
CMAKE_FLAGS ?=

.PHONY: all deps test test-plain test-asan fuzz fuzz-build demo bench clean install

# The build's Debian packages are checked first (scripts/check-deps.sh), so a machine without
# them is told which are missing and that `make deps` installs them (exit 2: not Debian,
# nothing to check; CMake then says what it misses).
all:
	@scripts/check-deps.sh || [ $$? = 2 ]
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGTEE_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

deps:
	scripts/install-deps.sh --quiet

# The whole suite: the normal build, the same suite under ASan+UBSan, then every fuzz
# target over its seed corpus and for FUZZ_SECONDS of fresh inputs.
test: deps test-plain test-asan fuzz
	@echo "make test: all stages passed"

test-plain: all
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan:
	@scripts/check-deps.sh --all || [ $$? = 2 ]
	CC=clang cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DGTEE_WERROR=ON -DGTEE_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS)

fuzz-build:
	@scripts/check-deps.sh --all || [ $$? = 2 ]
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DGTEE_FUZZ=ON -DGTEE_TESTS=OFF $(CMAKE_FLAGS) >/dev/null
	cmake --build $(FUZZ_BUILD) -j $(JOBS)

fuzz: fuzz-build
	scripts/run-fuzzers.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# The main job: the end-to-end demo (scripts/demo.sh: a node on the simulated TEE, a model and a data provider, confidential training and inference on Fashion-MNIST).
demo: deps
	$(MAKE) --no-print-directory all
	scripts/demo.sh $(BUILD)/gtee

bench: all
	bench/bench_box.sh $(BUILD)/gtee
	bench/bench_evidence.sh $(BUILD)
	bench/bench_gpu.sh $(BUILD)
	bench/bench_ratls.sh $(BUILD)
	bench/bench_chain.sh $(BUILD)
	bench/bench_confidential.sh $(BUILD)

install: all
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
