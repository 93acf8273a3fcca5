# ytrain: see README.md. `make test` and `make demo` install what they need first.
SHELL := /bin/bash
GO    ?= go
BIN   := bin
# tools that never link libtorch
PURE_TOOLS  := tokenize pack rank evaluate
TORCH_TOOLS := score generate train
TOOLS := $(PURE_TOOLS) $(TORCH_TOOLS)

.PHONY: all build test demo experiment vet fuzz bench clean

all: build

include mk/torch.mk

build: deps gotch shim
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ $(addprefix ./cmd/,$(TOOLS))

vet: gotch
	$(GO) vet ./...

test: build
	$(GO) vet ./...
	$(GO) test -count=1 ./...

demo: build
	bash scripts/demo.sh

# MODEL= DATA= GENERAL= TEST= DEVICE= run the same arms on your own model and data
experiment: build
	bash scripts/experiment.sh

# every reader, FUZZTIME each (60s by default)
FUZZTIME ?= 60s
fuzz: gotch
	$(GO) test -run=^$$ -fuzz=FuzzReadJSONL -fuzztime=$(FUZZTIME) ./formats
	$(GO) test -run=^$$ -fuzz=FuzzReadArrow -fuzztime=$(FUZZTIME) ./formats
	$(GO) test -run=^$$ -fuzz=FuzzReadScores -fuzztime=$(FUZZTIME) ./formats
	$(GO) test -run=^$$ -fuzz=FuzzPeekKind -fuzztime=$(FUZZTIME) ./formats
	$(GO) test -run=^$$ -fuzz=FuzzRecords -fuzztime=$(FUZZTIME) ./internal/corpus

bench: build
	bash bench/tokenize.sh
	bash bench/score.sh
	bash bench/train.sh
	bash bench/dist.sh
	$(GO) run ./bench/rss

clean:
	rm -rf $(BIN) build dist lib
