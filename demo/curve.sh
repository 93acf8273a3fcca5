#!/usr/bin/env bash
# demo/curve.sh ARM_DIR DATA_DIR HELDOUT_TOKENS: an arm measured at every
# epoch end but the last (that one is the arm's final model, measured by the
# Makefile): its checkpoints' merged models (train --merge-checkpoints)
# answer the domain and general test questions and score the held-out prose,
# into ARM_DIR/curve/checkpoint-N/. Each merged model is removed once
# measured (17 MB each; the adapter checkpoint stays). The Makefile passes
# BIN, MATCH, BY, MAXNEW and TORCH_FLAGS in the environment.
set -euo pipefail
arm=$1 data=$2 heldout=$3
# checkpoint-N folders by step, the last left out
mapfile -t cks < <(for d in "$arm"/run/checkpoint-*/; do d=${d%/}; echo "${d##*checkpoint-} $d"; done | sort -n | sed '$d' | cut -d' ' -f2-)
for ck in "${cks[@]}"; do
	[ -d "$ck/merged" ] || { echo "curve.sh: $ck has no merged model (train --merge-checkpoints)" >&2; exit 1; }
	out=$arm/curve/$(basename "$ck")
	mkdir -p "$out"
	for q in domain.test general.test; do
		"$BIN"/generate --model "$ck/merged" --max-new-tokens "$MAXNEW" --batch-size 16 $TORCH_FLAGS -o "$out/$q.answers.jsonl" "$data/$q.jsonl"
		"$BIN"/evaluate --match "$MATCH" --normalize ${BY:+--by "$BY"} --max-new-tokens "$MAXNEW" \
			-o "$out/$q.samples.jsonl" "$out/$q.answers.jsonl" > "$out/$q.eval.json"
	done
	"$BIN"/score --model "$ck/merged" $TORCH_FLAGS -o "$out/heldout.scores.arrow" "$heldout"
	"$BIN"/evaluate --scores "$out/heldout.scores.arrow" > "$out/heldout.json"
	rm -rf "$ck/merged" "$out/heldout.scores.arrow"
done
# the last one is run/merged again
rm -rf "$arm"/run/checkpoint-*/merged
