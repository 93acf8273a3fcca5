# libtorch/libtorch.mk - ytrain's libtorch build, included by the top-level Makefile
# (which defines GO and TOOLS). Go links gotch, patched into build/gotch, and
# through it only build/shim/libgotch_tch.so, gotch's C++ half built against
# a libtorch. See libtorch/README.md.
#
#   make libtorch     build/libtorch: the default libtorch, pip's torch 2.11.0
#                     CPU parts (libtorch/requirements.txt, hashes pinned;
#                     a 540 MB download kept in $(WHEELS), 500 MB unpacked)
#   make deps         check for g++ (and, with LIBTORCH=system, libtorch-dev
#                     and libopenblas0-pthread); as root apt-get install them
#   make gotch        build/gotch from the Go module cache (libtorch/gotchpatch),
#                     and go.work, which points go.mod's replace there
#   make shim         build/shim/libgotch_tch.so (libtorch/shim/build_shim.sh)
#   make shim-system  build/shim-system: the shim against Debian's libtorch-dev
#                     (1.13), which make test runs the torch packages on too
#   make dist         dist/{bin,lib,shim-src,README.txt}: a release whose shim
#                     alone can be rebuilt on another machine with g++
#   make gpu-bundle   dist/ytrain-gpu.tar.gz: what a GPU machine needs for
#                     bench/gpu/gpu-check.sh, small enough to carry there
#   make clean-torch  remove build/gotch, build/shim* and dist
#
# Variables for shim (from the command line or the environment; they reach
# build_shim.sh through the environment):
#   LIBTORCH=   (unset) build/libtorch | system (Debian's libtorch-dev) |
#               python (the torch package of $(PYTHON)) | /path/to/libtorch
#   OPT PARTS CXX CXXSTD CUDA NCCL        compile settings (see build_shim.sh)
#   STUBS=file|none JOBS PYTHON           (default: the cached stub list
#                                          libtorch/shim/stubs-libtorch-VERSION.txt)

.PHONY: deps libtorch gotch shim shim-system dist gpu-bundle clean-torch FORCE

GOTCH_DIR    := build/gotch
SHIM_DIR     := build/shim
SHIM         := $(SHIM_DIR)/libgotch_tch.so
LIBTORCH_DIR := build/libtorch
PYTHON       ?= python3
WHEELS       ?= $(HOME)/.cache/ytrain/wheels

# torch/version.h of the libtorch the shim is built against: a libtorch
# upgrade rebuilds the shim. SHIM_LIBTORCH is what build_shim.sh is given.
ifeq ($(LIBTORCH),)
TORCH_INCLUDE := $(LIBTORCH_DIR)/include
SHIM_LIBTORCH := $(CURDIR)/$(LIBTORCH_DIR)
SHIM_NEEDS    := $(LIBTORCH_DIR)/.stamp
else ifeq ($(LIBTORCH),system)
TORCH_INCLUDE := /usr/include
SHIM_LIBTORCH := system
else ifeq ($(LIBTORCH),python)
TORCH_INCLUDE := $(shell $(PYTHON) -c 'import importlib.util as u; print(u.find_spec("torch").submodule_search_locations[0])' 2>/dev/null)/include
SHIM_LIBTORCH := python
else
TORCH_INCLUDE := $(LIBTORCH)/include
SHIM_LIBTORCH := $(LIBTORCH)
endif
TORCH_VERSION_H := $(TORCH_INCLUDE)/torch/csrc/api/include/torch/version.h

libtorch: $(LIBTORCH_DIR)/.stamp

# pip only downloads (no resolving, hashes required) into $(WHEELS), where
# build/venv finds the same wheels; platform flags make the download the
# same whatever this machine's Python is.
$(LIBTORCH_DIR)/.stamp: libtorch/requirements.txt libtorch/unpack.py
	@command -v $(PYTHON) >/dev/null || { echo "make libtorch: needs $(PYTHON) (with pip) to download the torch wheel" >&2; exit 1; }
	$(PYTHON) -m pip download --quiet --no-deps --only-binary=:all: --require-hashes \
	  --platform manylinux_2_28_x86_64 --platform manylinux_2_25_x86_64 --platform manylinux2014_x86_64 \
	  --python-version 3.11 --implementation cp -d $(WHEELS) -r libtorch/requirements.txt
	rm -rf $(LIBTORCH_DIR)
	$(PYTHON) libtorch/unpack.py $(LIBTORCH_DIR) $(WHEELS) libtorch/requirements.txt
	@touch $@

# Fast when all is there: file checks and dpkg-query, no apt. OpenBLAS only
# matters for Debian's libtorch, which links libblas.so.3: the reference BLAS
# it gets otherwise trains ~12x slower (libtorch/README.md §2).
deps:
	@missing=; \
	if [ "$(LIBTORCH)" = system ]; then \
	  [ -f $(TORCH_VERSION_H) ] || missing=" libtorch-dev"; \
	  dpkg-query -W -f='$${Status}' libopenblas0-pthread 2>/dev/null | grep -q 'ok installed' || missing="$$missing libopenblas0-pthread"; \
	fi; \
	command -v g++ >/dev/null || missing="$$missing g++"; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "make deps: missing$$missing; install them with:" >&2; \
	  echo "  sudo apt-get update && sudo apt-get install -y$$missing" >&2; \
	  exit 1; \
	fi; \
	echo "make deps: installing$$missing" >&2; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update && apt-get install -y$$missing

gotch: $(GOTCH_DIR)/.stamp go.work

# go.mod's replace points at the stand-in libtorch/gotch, so that a fresh
# clone's go commands work for what does not run a model; go.work (not
# tracked) points it at the patched copy.
go.work:
	printf 'go 1.26.0\n\nuse .\n\nreplace github.com/sugarme/gotch => ./$(GOTCH_DIR)\n' > $@

$(GOTCH_DIR)/.stamp: $(filter-out %_test.go,$(wildcard libtorch/gotchpatch/*.go)) libtorch/gotchpatch/go.mod
	cd libtorch/gotchpatch && GOWORK=off $(GO) run . -dst $(CURDIR)/$(GOTCH_DIR)
	@touch $@

shim: $(SHIM)

# gotchpatch keeps the C++ sources' mtimes, so re-patching gotch does not
# rebuild the shim; $(SHIM_DIR)/config changes when the settings do.
SHIM_OWN := libtorch/shim/dist_api.cpp libtorch/shim/dist_api.h libtorch/shim/ops_api.cpp $(wildcard libtorch/shim/gloo-decl/gloo/*.h libtorch/shim/gloo-decl/gloo/*/*.h)
$(SHIM): libtorch/shim/build_shim.sh libtorch/shim/stub.awk $(wildcard libtorch/shim/stubs-libtorch-*.txt) $(SHIM_OWN) \
         $(wildcard $(TORCH_VERSION_H) $(GOTCH_DIR)/libtch/csrc/* $(GOTCH_DIR)/libtch/torch_api*.h) \
         $(SHIM_DIR)/config $(SHIM_NEEDS) | $(GOTCH_DIR)/.stamp deps
	LIBTORCH=$(SHIM_LIBTORCH) OUT=$(SHIM_DIR) sh libtorch/shim/build_shim.sh

# Debian's libtorch as the second libtorch make test runs on; it needs
# libtorch-dev (make deps LIBTORCH=system)
shim-system: build/shim-system/libgotch_tch.so
build/shim-system/libgotch_tch.so: libtorch/shim/build_shim.sh libtorch/shim/stub.awk $(wildcard libtorch/shim/stubs-libtorch-*.txt) $(SHIM_OWN) \
         $(wildcard /usr/include/torch/csrc/api/include/torch/version.h) | $(GOTCH_DIR)/.stamp
	env -u OPT -u PARTS -u CXXSTD -u CUDA -u NCCL -u STUBS LIBTORCH=system OUT=build/shim-system sh libtorch/shim/build_shim.sh

SHIM_CONFIG := LIBTORCH=$(LIBTORCH) OPT=$(OPT) PARTS=$(PARTS) CXX=$(CXX) CXXSTD=$(CXXSTD) CUDA=$(CUDA) NCCL=$(NCCL)
$(SHIM_DIR)/config: FORCE
	@mkdir -p $(@D)
	@echo '$(SHIM_CONFIG)' | cmp -s - $@ || echo '$(SHIM_CONFIG)' > $@

FORCE:

# what build_shim.sh needs to build the shim elsewhere (beside gloo-decl/)
SHIM_SRC = libtorch/shim/build_shim.sh libtorch/shim/stub.awk libtorch/shim/stubs-libtorch-*.txt \
	libtorch/shim/dist_api.cpp libtorch/shim/dist_api.h libtorch/shim/ops_api.cpp \
	$(GOTCH_DIR)/libtch/csrc/* $(GOTCH_DIR)/libtch/torch_api.h $(GOTCH_DIR)/libtch/torch_api_generated.h

dist: $(SHIM) $(GOTCH_DIR)/.stamp | deps
	rm -rf dist
	mkdir -p dist/bin dist/lib dist/shim-src
	$(GO) build -tags gotch_dist -o dist/bin/ $(addprefix ./cmd/,$(TOOLS)) ./tools/tinymodel
	cp $(SHIM) $(SHIM_DIR)/stubs.txt $(SHIM_DIR)/shim.env dist/lib/
	cp $(SHIM_SRC) dist/shim-src/
	cp -R libtorch/shim/gloo-decl dist/shim-src/
	cp libtorch/shim/dist-README.txt dist/README.txt
	cp bench/gpu/gpu-check.sh bench/gpu/gpu_check.py dist/

# Only the tools that run a model, stripped (-s -w: no symbol table or
# DWARF), the shim's sources (no shim: it is built there against that
# machine's torch), the check scripts and the venv's pins. A GPU machine
# takes the working tree plus at most 64 MiB; `make dist` is 60 MB gzipped.
GPU_BUNDLE := dist/ytrain-gpu
gpu-bundle: $(SHIM) $(GOTCH_DIR)/.stamp
	rm -rf $(GPU_BUNDLE) $(GPU_BUNDLE).tar.gz
	mkdir -p $(GPU_BUNDLE)/bin $(GPU_BUNDLE)/lib $(GPU_BUNDLE)/shim-src
	$(GO) build -tags gotch_dist -ldflags='-s -w' -o $(GPU_BUNDLE)/bin/ ./cmd/score ./cmd/train ./cmd/generate ./tools/tinymodel
	cp $(SHIM_SRC) $(GPU_BUNDLE)/shim-src/
	cp -R libtorch/shim/gloo-decl $(GPU_BUNDLE)/shim-src/
	cp bench/gpu/gpu-check.sh bench/gpu/gpu_check.py tools/venv/requirements.txt $(GPU_BUNDLE)/
	cp libtorch/shim/gpu-README.txt $(GPU_BUNDLE)/README.txt
	tar -C dist -czf $(GPU_BUNDLE).tar.gz ytrain-gpu
	@echo "$(GPU_BUNDLE).tar.gz: $$(du -k $(GPU_BUNDLE).tar.gz | cut -f1) KiB ($$(du -sk $(GPU_BUNDLE) | cut -f1) KiB unpacked)"

clean-torch:
	rm -rf $(GOTCH_DIR) $(SHIM_DIR) build/shim-system $(LIBTORCH_DIR) dist
