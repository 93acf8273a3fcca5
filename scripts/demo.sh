#!/usr/bin/env bash
# make demo: the whole pipeline on bundled, generated data, in a few minutes
# on 2 cores. Everything lands in build/demo (git-ignored); the pre-trained
# base model is cached there and rebuilt only when missing.
#
#   data → tokenizer → base model (CPT) → tokenize → score → rank → train
#   (NLIRG, LoRA) → generate → evaluate, then a before/after table.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/bin
D=${DEMO_DIR:-build/demo}
mkdir -p "$D"
log() { printf '\n== %s\n' "$*" >&2; }

base=$D/base
DEMO_DIR=$D bash scripts/demo-base.sh

log "tokenize the domain set and the general held-out text"
"$bin/tokenize" --tokenizer "$base" -o "$D/domain.arrow" "$D/data/domain.train.jsonl"
"$bin/tokenize" --tokenizer "$base" --kind cpt -o "$D/heldout.arrow" "$D/data/general.heldout.txt"

log "score the domain set with the base model and rank it (worst first in the report)"
"$bin/score" --model "$base" -o "$D/domain.scores.arrow" "$D/domain.arrow"
"$bin/rank" --scores "$D/domain.scores.arrow" --mode filtered --per-target --mix interleave:4 \
	--report "$D/rank-report.md" -o "$D/domain.ranked.arrow" "$D/domain.arrow"

log "fine-tune with NLIRG (LoRA, fused steps)"
rm -rf "$D/run"
"$bin/train" --model "$base" --output "$D/run" --token-batch 0 --batch-size 8 --epochs "${EPOCHS:-3}" \
	--lr 2e-3 --lora-rank 16 --lora-dropout 0.05 --merge --eval-data "$D/heldout.arrow" --eval-every 20 \
	--tensorboard "$D/run/tb" --log-every 10 "$D/domain.ranked.arrow"

log "answer the held-out domain questions and measure, base vs fine-tuned"
for m in base run/merged; do
	name=${m%%/*}
	"$bin/generate" --model "$D/$m" --max-new-tokens 48 --batch-size 16 -o "$D/$name.answers.jsonl" "$D/data/domain.test.jsonl"
	"$bin/score" --model "$D/$m" -o "$D/$name.heldout.scores.arrow" "$D/heldout.arrow"
	"$bin/evaluate" --match contains --normalize --max-new-tokens 48 --scores "$D/$name.heldout.scores.arrow" \
		-o "$D/$name.samples.jsonl" "$D/$name.answers.jsonl" > "$D/$name.json"
done
"$bin/evaluate" compare "$D/base.json" "$D/run.json" --plot "$D/plots" > "$D/compare.md"

table() { # the few numbers the demo is about, from the two summaries
	for f in base run; do
		tr -d ' {}"' < "$D/$f.json" | tr ',' '\n' | awk -F: -v n="$f" '
			$1 == "accuracy" { a = $2 } $1 == "score_mean_loss" { l = $2 } $1 == "seq_rep_4" { r = $2 } $1 == "distinct_2" { d = $2 }
			END { printf "| %-10s | %8.3f | %14.3f | %9.3f | %10.3f |\n", n == "run" ? "fine-tuned" : n, a, l, r, d }'
	done
}
echo
echo "| model      | accuracy | general loss   | seq-rep-4 | distinct-2 |"
echo "|------------|----------|----------------|-----------|------------|"
table
echo
echo "outputs in $D: answers ($D/*.answers.jsonl), per-sample results, rank report ($D/rank-report.md),"
echo "training metrics ($D/run/metrics.jsonl, TensorBoard in $D/run/tb), adapter ($D/run/final), merged model ($D/run/merged),"
echo "comparison table ($D/compare.md) and charts ($D/plots)."
