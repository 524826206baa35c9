# ptec: `make demo` and `make test` do all set-up on a fresh Debian machine.
# Both are idempotent: the venv and builds are reused when up to date.

VENV      := .venv
PY        := $(VENV)/bin/python
CMAKE     := $(VENV)/bin/cmake
BUILD     := build
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
APT_PKGS  := clang cmake make gcc python3-venv valgrind
# Cortex-M: cross compiler, newlib (semihosting stdio) and the emulated boards.
ARM_PKGS  := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
# Cortex-A (AArch64 Linux): cross compiler (static glibc included) and user-mode QEMU.
AARCH64_PKGS := gcc-aarch64-linux-gnu qemu-user

.PHONY: all deps venv build build-host build-clang build-asan build-m55 build-m7 build-m4 \
        build-firmware build-aarch64 build-fuzz fuzz-corpus fuzz test-fuzz build-tsan test-tsan \
        build-x86-32 test-x86-32 \
        tosa-tools test test-c test-aarch64 test-python demo footprint clean

all: build

# System packages: only installed when a tool is missing (root on CI machines).
deps:
	@missing=""; for t in clang gcc make valgrind; do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	python3 -c "import venv, ensurepip" 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages (missing:$$missing)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PKGS); \
	fi
	@if ! command -v arm-none-eabi-gcc >/dev/null || ! command -v qemu-system-arm >/dev/null || \
	    [ ! -d /usr/lib/arm-none-eabi/newlib ]; then \
	  echo "installing the Cortex-M toolchain and QEMU ($(ARM_PKGS))"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(ARM_PKGS); \
	fi
	@if ! echo 'int main(void){return 0;}' | gcc -m32 -x c - -o /dev/null 2>/dev/null; then \
	  echo "installing gcc-multilib (the 32-bit build, make test-x86-32)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-multilib; \
	fi
	@if ! command -v chromium >/dev/null; then \
	  echo "installing chromium (tests/python/test_html_report.py renders the HTML report)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi
	@if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null; then \
	  echo "installing the AArch64 cross toolchain and user-mode QEMU ($(AARCH64_PKGS))"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(AARCH64_PKGS); \
	fi

venv: $(VENV)/.stamp

$(VENV)/.stamp: requirements.txt requirements-interop.txt requirements-explorer.txt \
               python/pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	# ExecuTorch only for the interoperability tests; it pins the same torch.
	$(PY) -m pip install -q -r requirements-interop.txt
	# Model Explorer's Python server for ptec's extension, without its C++ adapter.
	$(PY) -m pip install -q --no-deps -r requirements-explorer.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e python
	touch $@

# Arm's TOSA reference model (tosa-tools), only for the tests that compare ptec's TOSA
# executor with it. Its Python deps conflict with ptec's pins, and pip's console-script shims
# would overwrite its native binaries of the same names, so the wheel is unpacked as it is
# beside the venv; the tests run its standalone binaries (flatc, tosa_reference_model).
TOSA_TOOLS := $(BUILD)/tosa-tools

tosa-tools: $(TOSA_TOOLS)/bin/tosa_reference_model

$(TOSA_TOOLS)/bin/tosa_reference_model: requirements-tosa.txt | venv
	rm -rf $(TOSA_TOOLS) && mkdir -p $(TOSA_TOOLS)
	$(PY) -m pip download -q --no-deps -d $(TOSA_TOOLS)/wheel -r requirements-tosa.txt
	$(PY) -m zipfile -e $(TOSA_TOOLS)/wheel/*.whl $(TOSA_TOOLS)
	chmod +x $(TOSA_TOOLS)/bin/*
	touch $@

# One configure+build per flavour: host (gcc, release), clang, sanitizers.
define cmake_build
	$(CMAKE) -S runtime -B $(BUILD)/$(1) -DCMAKE_BUILD_TYPE=$(2) $(3) >/dev/null
	$(CMAKE) --build $(BUILD)/$(1) -j $(JOBS)
endef

build: venv build-host

build-host: venv
	$(call cmake_build,host,Release,-DCMAKE_C_COMPILER=gcc)

build-clang: venv
	$(call cmake_build,clang,Release,-DCMAKE_C_COMPILER=clang)

build-asan: venv
	$(call cmake_build,asan,Debug,-DCMAKE_C_COMPILER=clang -DPTEC_SANITIZE=ON -DPTEC_BUILD_SHARED=OFF)

# libFuzzer targets (tests/fuzz/README.md): clang, ASan + UBSan, the runtime instrumented.
build-fuzz: venv
	$(call cmake_build,fuzz,Debug,-DCMAKE_C_COMPILER=clang -DPTEC_FUZZ=ON -DPTEC_BUILD_SHARED=OFF \
	  -DPTEC_BUILD_TOOLS=OFF)

# Seed corpora, made from small compiled models and the tests' programs (not committed).
FUZZ_CORPUS := $(BUILD)/fuzz-corpus
fuzz-corpus: $(FUZZ_CORPUS)/.stamp

$(FUZZ_CORPUS)/.stamp: tests/fuzz/make_corpus.py tests/c/data/ethosu_programs.h | venv
	$(PY) tests/fuzz/make_corpus.py $(FUZZ_CORPUS)
	touch $@

# make fuzz: each target for FUZZ_SECONDS (the corpus grows in build/fuzz-corpus, findings
# in build/fuzz-findings); prints executions, coverage and findings per target.
FUZZ_SECONDS ?= 120
fuzz: build-fuzz fuzz-corpus
	$(PY) tests/fuzz/run.py --seconds $(FUZZ_SECONDS)

# ThreadSanitizer: programs of the fuzz corpus (fp32, int8, TOSA delegates) run two at once
# on two threads, each with its own memory, outputs equal to a run alone; and ptec-run's
# --threads pool on the same programs.
build-tsan: venv
	$(call cmake_build,tsan,RelWithDebInfo,-DCMAKE_C_COMPILER=clang -DPTEC_TSAN=ON \
	  -DPTEC_BUILD_SHARED=OFF)

# A file twice: two methods of one shared program at once.
TSAN_PAIRS := conv_int8:mlp_fp32 conv_fp32:conv_int8 mlp_tosa_int:tosa_malformed_base \
              conv_tosa_int:mlp_int8 conv_fp32:conv_fp32 mlp_int8:mlp_int8 \
              conv_tosa_int:conv_tosa_int
test-tsan: build-tsan fuzz-corpus
	@for pair in $(TSAN_PAIRS); do \
	  $(BUILD)/tsan/ptec-tsan-two-programs $(FUZZ_CORPUS)/pte/$${pair%%:*} \
	    $(FUZZ_CORPUS)/pte/$${pair##*:} 20 || exit 1; \
	done

# In make test: a short fixed number of runs per target on its corpus, replaying the
# committed regression inputs (tests/fuzz/regressions/); keeps the targets building.
FUZZ_RUNS ?= 2000
test-fuzz: build-fuzz fuzz-corpus
	$(PY) tests/fuzz/run.py --runs $(FUZZ_RUNS)

# 32-bit x86 (gcc -m32, ASan + UBSan, reference kernels): size_t of 32 bits on the host, for
# size arithmetic that only wraps there. A full build, so not in make test; needs
# gcc-multilib (`make deps`). The C tests, the kernel tests and the malformed-program tests
# through the 32-bit ptec-run.
build-x86-32: venv
	$(call cmake_build,x86-32,Debug,-DCMAKE_C_COMPILER=gcc -DCMAKE_C_FLAGS=-m32 \
	  -DCMAKE_EXE_LINKER_FLAGS=-m32 -DPTEC_SANITIZE=ON -DPTEC_ISA_KERNELS=OFF \
	  -DPTEC_BUILD_SHARED=OFF)

test-x86-32: build-x86-32 build-host
	$(BUILD)/x86-32/ptec-c-tests
	$(BUILD)/x86-32/ptec-kernel-tests --seed $(KERNEL_SEED) --cases 100
	PTEC_RUN=$(BUILD)/host/ptec-run PTEC_RUN_ASAN=$(BUILD)/x86-32/ptec-run \
	  $(PY) -m pytest -q tests/python/test_malformed.py

# Cortex-M firmware (hello, ptec-runner, footprint images), one folder per CPU:
# build/m55 (mps3-an547), build/m7 (mps2-an500), build/m4 (mps2-an386).
define firmware_build
	$(CMAKE) -S targets -B $(BUILD)/$(1) -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/cmake/toolchains/cortex-$(1).cmake >/dev/null
	$(CMAKE) --build $(BUILD)/$(1) -j $(JOBS)
endef

build-m55: venv
	$(call firmware_build,m55)

build-m7: venv
	$(call firmware_build,m7)

build-m4: venv
	$(call firmware_build,m4)

build-firmware: build-m55 build-m7 build-m4

# Cortex-A, AArch64 Linux, statically linked (qemu-aarch64 runs them without a sysroot):
# build/aarch64 (Armv8-A: NEON) and build/cortex-a76 (-mcpu=cortex-a76: NEON + dotprod).
# ptec-run, ptec-c-tests and ptec-kernel-tests only (no shared library).
define aarch64_build
	$(CMAKE) -S runtime -B $(BUILD)/$(1) -DCMAKE_BUILD_TYPE=Release -DPTEC_BUILD_SHARED=OFF \
	  -DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/cmake/toolchains/aarch64-linux.cmake \
	  -DPTEC_AARCH64_CPU=$(2) >/dev/null
	$(CMAKE) --build $(BUILD)/$(1) -j $(JOBS) --target ptec-run ptec-generate ptec-c-tests ptec-kernel-tests
endef

build-aarch64: venv
	$(call aarch64_build,aarch64,generic)
	$(call aarch64_build,cortex-a76,cortex-a76)

test: deps venv tosa-tools build-host build-clang build-asan build-firmware build-aarch64 test-c \
      test-aarch64 test-fuzz test-tsan test-python

test-c:
	$(BUILD)/host/ptec-c-tests
	$(BUILD)/asan/ptec-c-tests

# The AArch64 builds under qemu-aarch64: the C tests, and the NEON kernels against the
# reference bit for bit (SMLAL paths on a Cortex-A57 model, SDOT paths on a Cortex-A76).
KERNEL_SEED ?= $(shell date +%s)
test-aarch64:
	qemu-aarch64 -cpu cortex-a57 $(BUILD)/aarch64/ptec-c-tests
	qemu-aarch64 -cpu cortex-a76 $(BUILD)/cortex-a76/ptec-c-tests
	qemu-aarch64 -cpu cortex-a57 $(BUILD)/aarch64/ptec-kernel-tests --seed $(KERNEL_SEED) --cases 300
	qemu-aarch64 -cpu cortex-a76 $(BUILD)/cortex-a76/ptec-kernel-tests --seed $(KERNEL_SEED) --cases 300

# Test files run in parallel (xdist, one file per process at a time: module fixtures are built
# once and no two processes share a file's build or output folders).
# --durations: the slowest tests in the log, to keep make test within its budget.
PYTEST_WORKERS ?= $(JOBS)
test-python:
	PTEC_RUN=$(BUILD)/host/ptec-run PTEC_RUN_ASAN=$(BUILD)/asan/ptec-run \
	  PTEC_RUN_AARCH64=$(BUILD)/aarch64/ptec-run PTEC_RUN_CORTEX_A76=$(BUILD)/cortex-a76/ptec-run \
	  $(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile --durations=30 tests/python

demo: deps venv build-host build-m55
	$(PY) examples/run_examples.py --demo
	# int8: a CNN trained on scikit-learn's digits, quantized, run in the C runtime.
	$(PY) examples/digits.py
	# TOSA: MobileNetV2 with a LocalResponseNorm, partly delegated, the LRN on the CPU.
	$(PY) examples/tosa_fallback.py
	# MobileNetV2-int8 on the emulated Cortex-M55: agreement with the host, memory, ticks.
	$(PY) targets/demo_m55.py
	# Ethos-U: MobileNetV2-int8 through Vela for a U55-128 and a U85-256: what runs where,
	# memory, Vela's estimates; the NPU graphs checked bit for bit against the host.
	$(PY) examples/ethos_u.py
	# Transformers on the NPU: the 16-layer Conformer (Arm's ASR sizes, 3 s of audio) as one
	# Ethos-U85 delegate: Vela's estimate, the CPU/NPU split, bit-exact with the host.
	$(PY) examples/conformer.py --layers 16 --seconds 3

# The runtime core's code size on Cortex-M55 at -Os, and a model's RAM.
footprint: deps venv build-m55
	$(PY) bench/footprint.py

clean:
	rm -rf $(BUILD)
