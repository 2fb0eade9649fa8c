# lazybk — build, test and check. `make demo` and `make test` are the whole set-up.
CC       ?= cc
CXX      ?= c++
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes
STB      := $(shell pkg-config --cflags stb 2>/dev/null || echo -I/usr/include/stb)
CPPFLAGS := -I. $(STB)
LIBS     := -lm -lpthread
BUILD    := build
HDR      := lazybk.h

TEST_SRC := $(wildcard tests/test_*.c) tests/main.c
TEST_HDR := tests/common.h examples/02_custom_backend.c
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))
BENCHES  := $(BUILD)/bench/bench_core $(BUILD)/bench/bench_cpu $(BUILD)/bench/bench_matmul $(BUILD)/bench/bench_matmul_blas \
            $(BUILD)/bench/bench_eigen

.PHONY: bench-compilers all deps bench-deps demo test sanitize valgrind tsan check-std examples fakecuda cuda bench-cuda bench install uninstall check-install fuzz fuzz-diff clean

all: $(BUILD)/tests $(EXAMPLES)

deps:
	@sh tools/deps.sh

demo: deps $(BUILD)/examples/01_quickstart
	./$(BUILD)/examples/01_quickstart

# The suite runs twice: on the reference path (every op against float64), then on the
# default fast path (the same checks, plus fast-against-reference on random graphs). The
# groups that run the per-CPU kernels run again with each lower level forced (LAZYBK_ISA).
ISA_GROUPS := fast_tests,vmath_tests,conv_tests,dtypes_tests,views_tests,attention_tests
test: deps $(BUILD)/tests $(BUILD)/alloc_sweep $(BUILD)/test_dlpack_v1 $(BUILD)/fuzz_replay $(BUILD)/test_threads $(BUILD)/test_big \
      $(BUILD)/fuzz_diff
	./$(BUILD)/fuzz_diff 3000 1
	./$(BUILD)/alloc_sweep
	./$(BUILD)/test_dlpack_v1
	./$(BUILD)/fuzz_replay
	./$(BUILD)/test_threads
	./$(BUILD)/test_big
	BUILD=$(BUILD) CC=$(CC) sh tests/new_op/run.sh
	LAZYBK_ISA=v1 ./$(BUILD)/tests $(ISA_GROUPS)
	LAZYBK_ISA=v3 ./$(BUILD)/tests $(ISA_GROUPS)
	LAZYBK_CPU_REFERENCE=1 ./$(BUILD)/tests
	./$(BUILD)/tests

$(BUILD)/tests: $(TEST_SRC) $(TEST_HDR) $(HDR) | deps
	@mkdir -p $(BUILD)
	$(CC) -std=c99 $(CFLAGS) -fopenmp $(WARN) $(CPPFLAGS) $(TEST_SRC) -o $@ -lcmocka $(LIBS)

$(BUILD)/test_dlpack_v1: tests/dlpack1/test_dlpack_v1.c $(HDR) | deps
	@mkdir -p $(BUILD)
	$(CC) -std=c99 $(CFLAGS) $(WARN) $(CPPFLAGS) $< -o $@ $(LIBS)

$(BUILD)/test_big: tests/big/test_big.c $(HDR) | deps
	@mkdir -p $(BUILD)
	$(CC) -std=c99 $(CFLAGS) $(WARN) $(CPPFLAGS) $< -o $@ $(LIBS)

$(BUILD)/test_threads: tests/threads/test_threads.c $(HDR) | deps
	@mkdir -p $(BUILD)
	$(CC) -std=c99 $(CFLAGS) $(WARN) $(CPPFLAGS) $< -o $@ $(LIBS)

# ThreadSanitizer (gcc's; no OpenMP, which TSan cannot follow): contexts on 2, 4 and 8
# threads beside concurrent registry and preprocess-registry traffic, then the whole suite.
tsan: deps
	@mkdir -p $(BUILD)
	gcc -std=c99 -O1 -g -fsanitize=thread $(WARN) $(CPPFLAGS) tests/threads/test_threads.c -o $(BUILD)/test_threads-tsan $(LIBS)
	gcc -std=c99 -O1 -g -fsanitize=thread $(WARN) $(CPPFLAGS) $(TEST_SRC) -o $(BUILD)/tests-tsan -lcmocka $(LIBS)
	TSAN_OPTIONS=halt_on_error=1 ./$(BUILD)/test_threads-tsan
	LAZYBK_TEST_NO_TIMING=1 TSAN_OPTIONS=halt_on_error=1 ./$(BUILD)/tests-tsan

# Differential fuzzing (tests/fuzz/fuzz_diff.c): random programs on cpu, cpu-reference and,
# built with LAZYBK_CUDA where a device answers, cuda; the smallest disagreeing program is
# printed. `make test` runs 3000 programs; this runs FUZZ_DIFF_N from FUZZ_DIFF_SEED.
FUZZ_DIFF_N ?= 100000
FUZZ_DIFF_SEED ?= 1
$(BUILD)/fuzz_diff: tests/fuzz/fuzz_diff.c $(HDR) | deps
	@mkdir -p $(BUILD)
	$(CC) -std=c99 $(CFLAGS) $(WARN) $(CPPFLAGS) $< -o $@ $(LIBS)
fuzz-diff: $(BUILD)/fuzz_diff
	./$(BUILD)/fuzz_diff $(FUZZ_DIFF_N) $(FUZZ_DIFF_SEED)

$(BUILD)/fuzz_replay: tests/fuzz/replay.c tests/fuzz/fuzz_api.c tests/fuzz/fuzz_load.c tests/fuzz/fuzz_weights.c $(HDR) | deps
	@mkdir -p $(BUILD)
	$(CC) -std=c99 $(CFLAGS) $(WARN) $(CPPFLAGS) $< -o $@ $(LIBS)

# libFuzzer (clang): each target for FUZZ_SECONDS, from the kept corpus; new inputs land in
# build/fuzz/ (merge the interesting ones into tests/fuzz/corpus_* with -merge=1).
FUZZ_SECONDS ?= 300
FUZZ_FLAGS := -std=c99 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -DLBK_FUZZ_MAIN
fuzz: deps
	@command -v clang >/dev/null 2>&1 || sh tools/deps.sh clang
	@mkdir -p $(BUILD)/fuzz/work_api $(BUILD)/fuzz/work_load $(BUILD)/fuzz/work_weights
	clang $(FUZZ_FLAGS) $(CPPFLAGS) tests/fuzz/fuzz_api.c -o $(BUILD)/fuzz/fuzz_api $(LIBS)
	clang $(FUZZ_FLAGS) $(CPPFLAGS) tests/fuzz/fuzz_load.c -o $(BUILD)/fuzz/fuzz_load $(LIBS)
	clang $(FUZZ_FLAGS) $(CPPFLAGS) tests/fuzz/fuzz_weights.c -o $(BUILD)/fuzz/fuzz_weights $(LIBS)
	./$(BUILD)/fuzz/fuzz_api $(BUILD)/fuzz/work_api tests/fuzz/corpus_api -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1
	./$(BUILD)/fuzz/fuzz_load $(BUILD)/fuzz/work_load tests/fuzz/corpus_load -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1
	./$(BUILD)/fuzz/fuzz_weights $(BUILD)/fuzz/work_weights tests/fuzz/corpus_weights -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1

$(BUILD)/alloc_sweep: tests/alloc_sweep.c $(HDR) | deps
	@mkdir -p $(BUILD)
	$(CC) -std=c99 $(CFLAGS) $(WARN) $(CPPFLAGS) $< -o $@ $(LIBS)

# ASan + UBSan (no recovery: the first report fails the run) + LSan.
sanitize: deps
	@mkdir -p $(BUILD)
	$(CC) -std=c99 -O1 -g -fopenmp -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	    $(WARN) $(CPPFLAGS) $(TEST_SRC) -o $(BUILD)/tests-sanitize -lcmocka $(LIBS)
	$(CC) -std=c99 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	    $(WARN) $(CPPFLAGS) tests/alloc_sweep.c -o $(BUILD)/alloc_sweep-sanitize $(LIBS)
	$(CC) -std=c99 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	    $(WARN) $(CPPFLAGS) tests/fuzz/replay.c -o $(BUILD)/fuzz_replay-sanitize $(LIBS)
	$(CC) -std=c99 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	    $(WARN) $(CPPFLAGS) tests/threads/test_threads.c -o $(BUILD)/test_threads-sanitize $(LIBS)
	$(CC) -std=c99 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	    $(WARN) $(CPPFLAGS) tests/fuzz/fuzz_diff.c -o $(BUILD)/fuzz_diff-sanitize $(LIBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 ./$(BUILD)/fuzz_diff-sanitize 3000 1
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 ./$(BUILD)/test_threads-sanitize
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 ./$(BUILD)/alloc_sweep-sanitize
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 ./$(BUILD)/fuzz_replay-sanitize
	LAZYBK_TEST_NO_TIMING=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 LAZYBK_CPU_REFERENCE=1 ./$(BUILD)/tests-sanitize
	LAZYBK_TEST_NO_TIMING=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 ./$(BUILD)/tests-sanitize

# The suite under valgrind's memcheck (no OpenMP: one thread, plain pthreads), both paths.
# valgrind reports no AVX-512, so the kernels' AVX2 or baseline clones run here.
valgrind: deps
	@mkdir -p $(BUILD)
	@command -v valgrind >/dev/null 2>&1 || sh tools/deps.sh valgrind
	$(CC) -std=c99 -O1 -g $(WARN) $(CPPFLAGS) $(TEST_SRC) -o $(BUILD)/tests-valgrind -lcmocka $(LIBS)
	LAZYBK_TEST_NO_TIMING=1 LAZYBK_CPU_REFERENCE=1 valgrind -q --error-exitcode=9 --leak-check=full ./$(BUILD)/tests-valgrind
	LAZYBK_TEST_NO_TIMING=1 valgrind -q --error-exitcode=9 --leak-check=full ./$(BUILD)/tests-valgrind

# gcc and clang in C99 and C11 with -Werror; C++11 and C++17; the header included twice;
# LAZYBK_STATIC in two units of one program; each built-in backend section compiled alone
# against the public declarations (tools/check_sections.sh).
check-std: deps
	@mkdir -p $(BUILD)/std
	@set -e; for cc in gcc clang; do for std in c99 c11; do \
	    echo "check-std: $$cc -std=$$std"; \
	    $$cc -std=$$std -O1 $(WARN) -Werror -pedantic $(CPPFLAGS) $(TEST_SRC) -o $(BUILD)/std/tests-$$cc-$$std -lcmocka $(LIBS); \
	done; done
	@set -e; for cxx in g++ clang++; do for std in c++11 c++17; do \
	    echo "check-std: $$cxx -std=$$std"; \
	    $$cxx -std=$$std -O1 -Wall -Wextra -Werror $(CPPFLAGS) -x c++ tests/std/cpp_unit.cpp -o $(BUILD)/std/cpp-$$cxx-$$std $(LIBS); \
	    ./$(BUILD)/std/cpp-$$cxx-$$std; \
	done; done
	@echo "check-std: header included twice"
	$(CC) -std=c99 -O1 $(WARN) -Werror $(CPPFLAGS) tests/std/twice.c -o $(BUILD)/std/twice $(LIBS)
	./$(BUILD)/std/twice
	@echo "check-std: the built-in backends on the public API"
	BUILD=$(BUILD) sh tools/check_sections.sh $(CC)
	@echo "check-std: LAZYBK_STATIC in two units"
	$(CC) -std=c99 -O1 $(WARN) -Werror $(CPPFLAGS) tests/std/static_a.c tests/std/static_b.c -o $(BUILD)/std/static $(LIBS)
	./$(BUILD)/std/static

examples: deps $(EXAMPLES)
	@set -e; for e in $(EXAMPLES); do \
	    echo "running $$e"; \
	    ./$$e > $$e.out 2>&1 || { cat $$e.out; echo "$$e failed"; exit 1; }; \
	done

$(BUILD)/examples/%: examples/%.c $(HDR) | deps
	@mkdir -p $(BUILD)/examples
	$(CC) -std=c99 $(CFLAGS) $(WARN) $(CPPFLAGS) $< -o $@ $(LIBS)

# The CUDA backend compiled in (-DLAZYBK_CUDA, headers from CUDA_HOME, nothing linked):
#  1. no driver: "cuda" unavailable with its reason, the suite and examples unchanged on cpu;
#     with NVRTC, every kernel generated for the representative graphs compiled to PTX;
#  2. the host emulation of a device (tests/cuda/fake: driver, NVRTC and cuBLAS stand-ins
#     on LD_LIBRARY_PATH; kernels compiled as host C++): the device tests of test_cuda,
#     the whole suite with LAZYBK_BACKEND=cuda, and the examples;
#  3. on a GPU machine, test_cuda's device tests run on the GPU (plain ./build/cuda/test_cuda).
CUDA_HOME ?= /usr/local/cuda
CUDA_FLAGS := -DLAZYBK_CUDA -I$(CUDA_HOME)/include
FAKECUDA := $(BUILD)/fakecuda
fakecuda: deps
	@mkdir -p $(FAKECUDA)
	$(CC) -O1 -g $(WARN) -shared -fPIC -I$(CUDA_HOME)/include tests/cuda/fake/fake_driver.c -o $(FAKECUDA)/libcuda.so.1 -Wl,-soname,libcuda.so.1 -ldl -lpthread
	$(CC) -O1 -g $(WARN) -shared -fPIC -I$(CUDA_HOME)/include tests/cuda/fake/fake_nvrtc.c -o $(FAKECUDA)/libnvrtc.so -ldl
	$(CC) -O1 -g $(WARN) -shared -fPIC tests/cuda/fake/fake_cublas.c -o $(FAKECUDA)/libcublas.so -L$(FAKECUDA) -l:libcuda.so.1 -Wl,-rpath,'$$ORIGIN'
	$(CC) -O1 -g $(WARN) -shared -fPIC -I$(CUDA_HOME)/include tests/cuda/fake/fake_cublaslt.c -o $(FAKECUDA)/libcublasLt.so -L$(FAKECUDA) -l:libcuda.so.1 -Wl,-rpath,'$$ORIGIN'
cuda: deps fakecuda
	@test -f $(CUDA_HOME)/include/cuda.h || { echo "make cuda: $(CUDA_HOME)/include/cuda.h not found (set CUDA_HOME)"; exit 1; }
	@mkdir -p $(BUILD)/cuda
	$(CC) -std=c99 $(CFLAGS) $(WARN) $(CPPFLAGS) $(CUDA_FLAGS) tests/cuda/test_cuda.c -o $(BUILD)/cuda/test_cuda $(LIBS) -ldl
	$(CC) -std=c99 $(CFLAGS) $(WARN) $(CPPFLAGS) $(CUDA_FLAGS) tests/fuzz/fuzz_diff.c -o $(BUILD)/cuda/fuzz_diff $(LIBS) -ldl
	$(CC) -std=c99 $(CFLAGS) -fopenmp $(WARN) $(CPPFLAGS) $(CUDA_FLAGS) $(TEST_SRC) -o $(BUILD)/cuda/tests -lcmocka $(LIBS) -ldl
	@set -e; for e in examples/*.c; do \
	    echo "$(CC) ... $(CUDA_FLAGS) $$e"; \
	    $(CC) -std=c99 $(CFLAGS) $(WARN) $(CPPFLAGS) $(CUDA_FLAGS) $$e -o $(BUILD)/cuda/$$(basename $$e .c) $(LIBS) -ldl; \
	done
	@set -e; for cxx in g++ clang++; do for std in c++11 c++17; do \
	    echo "$$cxx -std=$$std ... $(CUDA_FLAGS) tests/std/cpp_unit.cpp"; \
	    $$cxx -std=$$std -O1 -Wall -Wextra -Werror $(CPPFLAGS) $(CUDA_FLAGS) -x c++ tests/std/cpp_unit.cpp -o $(BUILD)/cuda/cpp-$$cxx-$$std $(LIBS) -ldl; \
	    ./$(BUILD)/cuda/cpp-$$cxx-$$std; \
	done; done
	./$(BUILD)/cuda/test_cuda
	./$(BUILD)/cuda/tests
	./$(BUILD)/cuda/01_quickstart > /dev/null
	@echo "== on the host emulation of a device ($(FAKECUDA))"
	LD_LIBRARY_PATH=$(FAKECUDA) ./$(BUILD)/cuda/test_cuda
	LD_LIBRARY_PATH=$(FAKECUDA) ./$(BUILD)/cuda/fuzz_diff 40 1
	LD_LIBRARY_PATH=$(FAKECUDA) LAZYBK_BACKEND=cuda ./$(BUILD)/cuda/tests
	@set -e; for e in $(patsubst examples/%.c,$(BUILD)/cuda/%,$(wildcard examples/*.c)); do \
	    echo "LAZYBK_BACKEND=cuda $$e"; LD_LIBRARY_PATH=$(FAKECUDA) LAZYBK_BACKEND=cuda ./$$e > $$e.out 2>&1 || { cat $$e.out; exit 1; }; \
	done

# On a GPU machine: the fused chain against cuMemcpyDtoD, sgemm against cuBLAS, NVRTC times.
bench-cuda: deps
	@mkdir -p $(BUILD)/bench
	$(CC) -std=c99 -O2 $(WARN) $(CPPFLAGS) $(CUDA_FLAGS) -Ibenchmarks benchmarks/bench_cuda.c -o $(BUILD)/bench/bench_cuda $(LIBS) -ldl
	./$(BUILD)/bench/bench_cuda

# Install the header and a pkg-config file: make install PREFIX=/usr/local (DESTDIR for staging).
PREFIX  ?= /usr/local
VERSION := $(shell sed -n 's/^#define LAZYBK_VERSION_STRING "\(.*\)"/\1/p' $(HDR))
install:
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(HDR) $(DESTDIR)$(PREFIX)/include/lazybk.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' lazybk.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/lazybk.pc
	chmod 644 $(DESTDIR)$(PREFIX)/lib/pkgconfig/lazybk.pc
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/lazybk.h $(DESTDIR)$(PREFIX)/lib/pkgconfig/lazybk.pc

# Installs into build/prefix, builds the quick start from the installed header through
# pkg-config alone, runs it, uninstalls and checks that nothing is left.
check-install: deps
	rm -rf $(BUILD)/prefix
	$(MAKE) --no-print-directory install PREFIX=$(CURDIR)/$(BUILD)/prefix
	PKG_CONFIG_PATH=$(CURDIR)/$(BUILD)/prefix/lib/pkgconfig pkg-config --modversion lazybk | grep -qx '$(VERSION)'
	cd $(BUILD) && $(CC) -std=c99 -O2 $$(PKG_CONFIG_PATH=$(CURDIR)/$(BUILD)/prefix/lib/pkgconfig pkg-config --cflags lazybk) \
	    $(CURDIR)/examples/01_quickstart.c -o quickstart-installed $$(PKG_CONFIG_PATH=$(CURDIR)/$(BUILD)/prefix/lib/pkgconfig pkg-config --libs lazybk)
	./$(BUILD)/quickstart-installed > /dev/null
	$(MAKE) --no-print-directory uninstall PREFIX=$(CURDIR)/$(BUILD)/prefix
	test -z "$$(find $(BUILD)/prefix -type f)"
	@echo "check-install: ok"

# Benchmarks are built the way users build: plain -O2, no -march (plus -fopenmp), and run
# at 1 and 2 threads.
bench: deps bench-deps $(BENCHES) $(BUILD)/bench/libbench_models.so
	sh benchmarks/report.sh

# The same benchmarks built by gcc and clang in GNU and ISO C modes, side by side.
bench-compilers: deps bench-deps
	sh benchmarks/compilers.sh

bench-deps:
	@sh tools/deps.sh libopenblas-dev libeigen3-dev gnuplot-nox

# The example models (examples/08-10) and two single ops as a library that
# benchmarks/bench_torch.py times against PyTorch eager (run by report.sh when python3-torch is there).
MODEL_BENCH := benchmarks/models/bench_gpt2.c benchmarks/models/bench_llama.c benchmarks/models/bench_cnn.c
$(BUILD)/bench/libbench_models.so: $(MODEL_BENCH) examples/08_gpt2.c examples/09_llama.c examples/10_cnn.c benchmarks/bench_util.h $(HDR) | bench-deps
	@mkdir -p $(BUILD)/bench
	$(CC) -std=c99 -O2 -fopenmp -fPIC -shared $(WARN) $(CPPFLAGS) $(MODEL_BENCH) -o $@ $(LIBS)

# Eigen built twice, as a user who wants speed builds it (-O3 -march=native) and plainly
# (-O2), beside lazybk built as its users build it (-O2, no -march): one process.
$(BUILD)/bench/eigen_ref_native.o: benchmarks/eigen_ref.cpp | bench-deps
	@mkdir -p $(BUILD)/bench
	$(CXX) -std=c++11 -O3 -march=native -DEIGREF_SFX=native -I/usr/include/eigen3 -c $< -o $@
$(BUILD)/bench/eigen_ref_o2.o: benchmarks/eigen_ref.cpp | bench-deps
	@mkdir -p $(BUILD)/bench
	$(CXX) -std=c++11 -O2 -DEIGREF_SFX=o2 -I/usr/include/eigen3 -c $< -o $@
$(BUILD)/bench/bench_eigen: benchmarks/bench_eigen.cpp $(BUILD)/bench/eigen_ref_native.o $(BUILD)/bench/eigen_ref_o2.o $(HDR) | bench-deps
	@mkdir -p $(BUILD)/bench
	$(CXX) -std=c++11 -O2 -fopenmp -Wall -Wextra $(CPPFLAGS) -I/usr/include/eigen3 $< $(BUILD)/bench/eigen_ref_native.o $(BUILD)/bench/eigen_ref_o2.o -o $@ $(LIBS)

$(BUILD)/bench/bench_matmul: benchmarks/bench_matmul.c benchmarks/bench_util.h $(HDR) | bench-deps
	@mkdir -p $(BUILD)/bench
	$(CC) -std=c99 -O2 -fopenmp $(WARN) $(CPPFLAGS) $< -o $@ -lopenblas $(LIBS)

$(BUILD)/bench/bench_matmul_blas: benchmarks/bench_matmul.c benchmarks/bench_util.h $(HDR) | bench-deps
	@mkdir -p $(BUILD)/bench
	$(CC) -std=c99 -O2 -fopenmp -DLAZYBK_BLAS $(WARN) $(CPPFLAGS) $< -o $@ -lopenblas $(LIBS)

$(BUILD)/bench/%: benchmarks/%.c benchmarks/bench_util.h $(HDR) | deps
	@mkdir -p $(BUILD)/bench
	$(CC) -std=c99 -O2 -fopenmp $(WARN) $(CPPFLAGS) $< -o $@ $(LIBS)

clean:
	rm -rf $(BUILD)
