# libtorch/libtorch.mk - ytrain's libtorch build, included by the top-level Makefile
# (which defines GO and TOOLS). Go links gotch, patched into build/gotch, and
# through it only build/shim/libgotch_tch.so, gotch's C++ half built against
# the installed libtorch. See libtorch/README.md.
#
#   make deps         check for libtorch-dev, libopenblas0-pthread and g++;
#                     as root apt-get install what is missing
#   make gotch        build/gotch from the Go module cache (libtorch/gotchpatch),
#                     and go.work, which points go.mod's replace there
#   make shim         build/shim/libgotch_tch.so (libtorch/shim/build_shim.sh)
#   make dist         dist/{bin,lib,shim-src,README.txt}: a release whose shim
#                     alone can be rebuilt on another machine with g++
#   make gpu-bundle   dist/ytrain-gpu.tar.gz: what a GPU machine needs for
#                     bench/gpu/gpu-check.sh, small enough to carry there
#   make clean-torch  remove build/gotch, build/shim and dist
#
# Variables for shim (from the command line or the environment; they reach
# build_shim.sh through the environment):
#   LIBTORCH=/path/to/libtorch | python   another libtorch than Debian's
#   OPT PARTS CXX CXXSTD CUDA NCCL        compile settings (see build_shim.sh)
#   STUBS=file|none JOBS PYTHON           (default: the cached stub list
#                                          libtorch/shim/stubs-libtorch-VERSION.txt)

.PHONY: deps gotch shim dist gpu-bundle clean-torch FORCE

GOTCH_DIR := build/gotch
SHIM_DIR  := build/shim
SHIM      := $(SHIM_DIR)/libgotch_tch.so
PYTHON    ?= python3

# torch/version.h of the libtorch the shim is built against: a libtorch
# upgrade rebuilds the shim.
ifeq ($(LIBTORCH),python)
TORCH_INCLUDE := $(shell $(PYTHON) -c 'import importlib.util as u; print(u.find_spec("torch").submodule_search_locations[0])' 2>/dev/null)/include
else ifneq ($(LIBTORCH),)
TORCH_INCLUDE := $(LIBTORCH)/include
else
TORCH_INCLUDE := /usr/include
endif
TORCH_VERSION_H := $(TORCH_INCLUDE)/torch/csrc/api/include/torch/version.h

# Fast when all is there: file checks and dpkg-query, no apt. OpenBLAS only
# matters for Debian's libtorch, which links libblas.so.3: the reference BLAS
# it gets otherwise trains ~12x slower (libtorch/README.md §2).
deps:
	@missing=; \
	if [ -z "$(LIBTORCH)" ]; then \
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
SHIM_OWN := libtorch/shim/dist_api.cpp libtorch/shim/dist_api.h $(wildcard libtorch/shim/gloo-decl/gloo/*.h libtorch/shim/gloo-decl/gloo/*/*.h)
$(SHIM): libtorch/shim/build_shim.sh libtorch/shim/stub.awk $(wildcard libtorch/shim/stubs-libtorch-*.txt) $(SHIM_OWN) \
         $(wildcard $(TORCH_VERSION_H) $(GOTCH_DIR)/libtch/csrc/* $(GOTCH_DIR)/libtch/torch_api*.h) \
         $(SHIM_DIR)/config | $(GOTCH_DIR)/.stamp deps
	OUT=$(SHIM_DIR) sh libtorch/shim/build_shim.sh

SHIM_CONFIG := LIBTORCH=$(LIBTORCH) OPT=$(OPT) PARTS=$(PARTS) CXX=$(CXX) CXXSTD=$(CXXSTD) CUDA=$(CUDA) NCCL=$(NCCL)
$(SHIM_DIR)/config: FORCE
	@mkdir -p $(@D)
	@echo '$(SHIM_CONFIG)' | cmp -s - $@ || echo '$(SHIM_CONFIG)' > $@

FORCE:

dist: $(SHIM) $(GOTCH_DIR)/.stamp | deps
	rm -rf dist
	mkdir -p dist/bin dist/lib dist/shim-src
	$(GO) build -tags gotch_dist -o dist/bin/ $(addprefix ./cmd/,$(TOOLS)) ./tools/tinymodel
	cp $(SHIM) $(SHIM_DIR)/stubs.txt $(SHIM_DIR)/shim.env dist/lib/
	cp libtorch/shim/build_shim.sh libtorch/shim/stub.awk libtorch/shim/stubs-libtorch-*.txt \
	   libtorch/shim/dist_api.cpp libtorch/shim/dist_api.h \
	   $(GOTCH_DIR)/libtch/csrc/* $(GOTCH_DIR)/libtch/torch_api.h $(GOTCH_DIR)/libtch/torch_api_generated.h dist/shim-src/
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
	cp libtorch/shim/build_shim.sh libtorch/shim/stub.awk libtorch/shim/stubs-libtorch-*.txt \
	   $(GOTCH_DIR)/libtch/csrc/* $(GOTCH_DIR)/libtch/torch_api.h $(GOTCH_DIR)/libtch/torch_api_generated.h $(GPU_BUNDLE)/shim-src/
	cp bench/gpu/gpu-check.sh bench/gpu/gpu_check.py tools/venv/requirements.txt $(GPU_BUNDLE)/
	cp libtorch/shim/gpu-README.txt $(GPU_BUNDLE)/README.txt
	tar -C dist -czf $(GPU_BUNDLE).tar.gz ytrain-gpu
	@echo "$(GPU_BUNDLE).tar.gz: $$(du -k $(GPU_BUNDLE).tar.gz | cut -f1) KiB ($$(du -sk $(GPU_BUNDLE) | cut -f1) KiB unpacked)"

clean-torch:
	rm -rf $(GOTCH_DIR) $(SHIM_DIR) dist
