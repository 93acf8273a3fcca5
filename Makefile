# ytrain: see README.md. `make test` and `make demo` install what they need first.
SHELL := /bin/bash
GO    ?= go
BIN   := bin
# tools that never link libtorch
PURE_TOOLS  := tokenize pack rank evaluate convert
TORCH_TOOLS := score generate train
TOOLS := $(PURE_TOOLS) $(TORCH_TOOLS)

.PHONY: all build test demo demo-real base experiment experiment-reports experiment-save vet fuzz bench clean

all: build

include libtorch/libtorch.mk
include tools/venv/venv.mk
include tools/smollm2/smollm2.mk

build: deps gotch shim
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ $(addprefix ./cmd/,$(TOOLS))

vet: gotch
	$(GO) vet ./...

# The whole suite on the default libtorch (build/shim: pip's torch 2.11,
# the same version the judges in build/venv run); then every package that
# links libtorch again on Debian's libtorch-dev (build/shim-system, chosen
# by LD_LIBRARY_PATH over the binaries' RUNPATH) where it is installed.
# internal/torch's TestShimInfo fails when the loaded libtorch is not
# YTRAIN_LIBTORCH. One libtorch thread: 2.11 takes every core otherwise,
# which made training's tests 4x slower on two shared cores.
TORCH_TEST_PKGS = $$($(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}} {{join .Deps " "}} {{join .TestImports " "}} {{join .XTestImports " "}}{{end}}' ./... | \
  awk '$$1 !~ /\/cmd\// && /sugarme\/gotch|ytrain\/internal\/(torch|model|modeltest)( |$$)/ {print $$1}')
SYSTEM_TORCH := $(wildcard /usr/include/torch/csrc/api/include/torch/version.h)
test: build venv $(if $(SYSTEM_TORCH),shim-system)
	$(GO) vet ./...
	OMP_NUM_THREADS=1 YTRAIN_LIBTORCH=$$(sed -n 's/^TORCH_VERSION=//p' $(SHIM_DIR)/shim.env) $(GO) test -count=1 ./...
ifneq ($(SYSTEM_TORCH),)
	LD_LIBRARY_PATH=$(CURDIR)/build/shim-system OMP_NUM_THREADS=1 YTRAIN_LIBTORCH=$$(sed -n 's/^TORCH_VERSION=//p' build/shim-system/shim.env) \
	  $(GO) test -count=1 $(TORCH_TEST_PKGS)
else
	@echo "make test: Debian's libtorch-dev is not installed: the second pass, on it, is skipped"
endif

# demo/Makefile: the committed base (demo/base) fine-tuned on the bundled
# world, base vs SFT vs NLIRG vs nlirg-auto; -j2 runs the arms side by side
demo: build
	$(MAKE) -C demo demo

# the real model: SmolLM2-135M-Instruct (make smollm2) on experiment/PLAN-real.md's
# world at a demo's size, base vs the seed's control pair (sft-win, nlirg-win)
# vs fused sft at batch 1 (docs/demo.md); two arms at a time, one thread each
demo-real: build smollm2
	$(MAKE) -C demo -j2 demo REAL=1 THREADS=1

# pre-train demo/base again from the world generator (pinned seeds)
base: build
	$(MAKE) -C demo base

# STAGE=NAME: a stage of experiment/PLAN.md into build/experiment/NAME/;
# MODEL= DATA= GENERAL= TEST= DEVICE= run the same arms on your own model and data
experiment: build
	bash experiment/run.sh

# every committed report of experiment/results/ whose rows are committed,
# made again from them without training and compared byte for byte (fails
# on a difference); experiment-save STAGE=NAME commits a finished stage's
# rows and report from build/experiment/NAME (experiment/reports.sh)
experiment-reports:
	bash experiment/reports.sh check
experiment-save:
	bash experiment/reports.sh save $(STAGE)

# every reader, FUZZTIME each (60s by default)
FUZZTIME ?= 60s
fuzz: gotch
	$(GO) test -run=^$$ -fuzz=FuzzReadJSONL -fuzztime=$(FUZZTIME) ./formats
	$(GO) test -run=^$$ -fuzz=FuzzReadArrow -fuzztime=$(FUZZTIME) ./formats
	$(GO) test -run=^$$ -fuzz=FuzzReadScores -fuzztime=$(FUZZTIME) ./formats
	$(GO) test -run=^$$ -fuzz=FuzzPeekKind -fuzztime=$(FUZZTIME) ./formats
	$(GO) test -run=^$$ -fuzz=FuzzRecords -fuzztime=$(FUZZTIME) ./internal/corpus
	$(GO) test -run=^$$ -fuzz=FuzzOpen -fuzztime=$(FUZZTIME) ./internal/gguf

# score, train and long context next to transformers, peft and TRL on the
# same torch 2.11 (ytrain: build/shim; the peers: build/venv); small by
# default, env knobs for bigger (see each script's header); the real model
# (make smollm2) where it has been fetched, a line saying so where not
REAL_MODEL := build/models/smollm2
bench: build venv
	bash bench/tokenize.sh
	bash bench/score.sh
	MODEL=$(REAL_MODEL) bash bench/score.sh
	MODEL=$(REAL_MODEL) bash bench/generate.sh
	bash bench/train.sh
	MODEL=$(REAL_MODEL) bash bench/train.sh
	bash bench/lmhead.sh
	bash bench/longctx.sh
	bash bench/dist.sh
	$(GO) run ./bench/rss

clean:
	rm -rf $(BIN) build dist lib
