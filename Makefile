# ytrain: see README.md. `make test` and `make demo` install what they need first.
SHELL := /bin/bash
GO    ?= go
BIN   := bin
# tools that never link libtorch
PURE_TOOLS  := tokenize pack rank evaluate convert
TORCH_TOOLS := score generate train
TOOLS := $(PURE_TOOLS) $(TORCH_TOOLS)

.PHONY: all build test demo base experiment experiment-reports experiment-save vet fuzz bench clean

all: build

include libtorch/libtorch.mk
include tools/venv/venv.mk
include tools/smollm2/smollm2.mk

build: deps gotch shim
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ $(addprefix ./cmd/,$(TOOLS))

vet: gotch
	$(GO) vet ./...

# The suite on Debian's libtorch (build/shim); then, on pip's torch 2.11
# (build/shim-torch2, put before the binaries' RUNPATH by LD_LIBRARY_PATH),
# every package that links libtorch and the interop tests, whose judges
# (build/venv) run that same torch and which run score, train, tokenize and
# pack as binaries (the tools' scripts stay on one libtorch: they cost 4-6
# minutes of the 30 CI has). internal/torch's TestShimInfo fails when the
# loaded libtorch is not YTRAIN_LIBTORCH. One libtorch thread on 2.11, as
# Debian's build defaults to: 2.11 takes every core, which made training's
# tests 4x slower on two shared cores.
TORCH_TEST_PKGS = $$($(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}} {{join .Deps " "}} {{join .TestImports " "}} {{join .XTestImports " "}}{{end}}' ./... | \
  awk '$$1 !~ /\/cmd\// && /sugarme\/gotch|ytrain\/internal\/(torch|model|modeltest)( |$$)/ {print $$1}')
test: build venv shim-torch2
	$(GO) vet ./...
	YTRAIN_LIBTORCH=$$(sed -n 's/^TORCH_VERSION=//p' $(SHIM_DIR)/shim.env) $(GO) test -count=1 $$($(GO) list ./... | grep -v /interop$$)
	LD_LIBRARY_PATH=$(CURDIR)/$(SHIM2_DIR) OMP_NUM_THREADS=1 YTRAIN_LIBTORCH=$$(sed -n 's/^TORCH_VERSION=//p' $(SHIM2_DIR)/shim.env) \
	  $(GO) test -count=1 $(TORCH_TEST_PKGS) ./interop

# demo/Makefile: the committed base (demo/base) fine-tuned on the bundled
# world, base vs SFT vs NLIRG vs nlirg-auto; -j2 runs the arms side by side
demo: build
	$(MAKE) -C demo demo

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
# venv's torch 2.11, ytrain through build/shim-torch2 (bench/lib.sh); small
# by default, env knobs for bigger (see each script's header)
bench: build venv shim-torch2
	bash bench/tokenize.sh
	bash bench/score.sh
	bash bench/train.sh
	bash bench/lmhead.sh
	bash bench/longctx.sh
	bash bench/dist.sh
	$(GO) run ./bench/rss

clean:
	rm -rf $(BIN) build dist lib
