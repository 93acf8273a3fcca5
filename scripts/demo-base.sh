#!/usr/bin/env bash
# The bundled setup shared by make demo and make experiment, built once and
# cached in $DEMO_DIR (default build/demo): generated data (two noise levels),
# a byte-level BPE tokenizer trained on the general text, and a tiny
# Qwen3-shaped base model pre-trained on it with train --kind cpt.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/bin
D=${DEMO_DIR:-build/demo}
mkdir -p "$D"
log() { printf '\n== %s\n' "$*" >&2; }
for noise in 0 0.2; do
	[ -f "$D/data-$noise/domain.train.jsonl" ] || go run ./tools/demodata -o "$D/data-$noise" --seed 1 --noise "$noise"
done
# the base model's prior: general prose and the domain's language with
# another seed's facts (see tools/demodata)
[ -f "$D/prior/domain.train.txt" ] || go run ./tools/demodata -o "$D/prior" --seed 2 --noise 0
ln -sfn data-0.2 "$D/data"
base=$D/base
if [ ! -f "$base/model.safetensors" ]; then
	log "bundled data, tokenizer and a tiny Qwen3-shaped base model (cached in $base)"
	cat "$D/data/general.train.txt" "$D/prior/domain.train.txt" > "$D/pretrain.txt"
	go run ./tools/trainbpe --vocab-size 2048 -o "$D/tokenizer" "$D/pretrain.txt"
	go run ./tools/tinymodel --arch Qwen3ForCausalLM --tokenizer "$D/tokenizer" --hidden 192 --layers 4 --heads 6 \
		--kv-heads 2 --intermediate 512 --tied --seed 1 -o "$D/init"
	"$bin/tokenize" --tokenizer "$D/tokenizer" --kind cpt -o "$D/general.tokens.arrow" "$D/pretrain.txt"
	"$bin/pack" --pack-length 256 -o "$D/general.packed.arrow" "$D/general.tokens.arrow"
	rm -rf "$D/pretrain"
	"$bin/train" --model "$D/init" --output "$D/pretrain" --kind cpt --full --weighting none \
		--lr 3e-3 --lr-schedule cosine --warmup 0.05 --grad-clip 1 --batch-size 8 --epochs "${PRETRAIN_EPOCHS:-2}" \
		--log-every 20 "$D/general.packed.arrow"
	rm -rf "$base" && cp -r "$D/pretrain/final" "$base"
fi

