# ptec: `make demo` and `make test` do all set-up on a fresh Debian machine.
# Both are idempotent: the venv and builds are reused when up to date.

VENV      := .venv
PY        := $(VENV)/bin/python
CMAKE     := $(VENV)/bin/cmake
BUILD     := build
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
APT_PKGS  := clang cmake make gcc python3-venv

.PHONY: all deps venv build build-host build-clang build-asan test test-c test-python demo clean

all: build

# System packages: only installed when a tool is missing (root on CI machines).
deps:
	@missing=""; for t in clang gcc make; do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	python3 -c "import venv, ensurepip" 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages (missing:$$missing)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PKGS); \
	fi

venv: $(VENV)/.stamp

$(VENV)/.stamp: requirements.txt requirements-interop.txt python/pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	# ExecuTorch only for the interoperability tests; it pins the same torch.
	$(PY) -m pip install -q -r requirements-interop.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e python
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

test: deps venv build-host build-clang build-asan test-c test-python

test-c:
	$(BUILD)/host/ptec-c-tests
	$(BUILD)/asan/ptec-c-tests

test-python:
	PTEC_RUN=$(BUILD)/host/ptec-run PTEC_RUN_ASAN=$(BUILD)/asan/ptec-run \
	  $(PY) -m pytest -q tests/python

demo: deps venv build-host
	$(PY) examples/run_examples.py --demo
	# int8: a CNN trained on scikit-learn's digits, quantized, run in the C runtime.
	$(PY) examples/digits.py

clean:
	rm -rf $(BUILD)
