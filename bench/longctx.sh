#!/usr/bin/env bash
# One CPT training step (forward, mean CE, backward; every weight trained)
# on one packed row of DOC-token documents, at each of LENGTHS tokens:
# ytrain's decoder (bench/longctx: SDPA with the block-diagonal causal mask
# on torch 2.11) next to transformers' Qwen3 with SDPA and the same 4-D mask,
# the demo base model's shape, THREADS threads, torch 2.11 both sides. STEPS
# timed steps after one warm-up step per length; REPS (default 1 here)
# interleaved runs. The default stops at 4k tokens: LENGTHS=1024,4096,16384
# adds 16k, ~5 minutes a side on one core. Run from the repository root.
set -euo pipefail
REPS=${REPS:-1}
source "$(dirname "$0")/lib.sh"
out=bench/out/longctx
mkdir -p "$out"
LENGTHS=${LENGTHS:-1024,4096} DOC=${DOC:-512} STEPS=${STEPS:-1}
go build -o "$out/" ./bench/longctx
: > "$out/pairs"
for _ in $(seq "$REPS"); do
	"$out/longctx" -lengths "$LENGTHS" -doc "$DOC" -steps "$STEPS" -threads "$THREADS" -max-gb 1000 > "$out/ytrain.txt"
	peer=$(peers longctx "$LENGTHS" "$DOC" "$STEPS" "$THREADS")
	for T in ${LENGTHS//,/ }; do
		echo "$T $(awk -v t="$T:" '$1 == "T" && $2 == t { print $5 }' "$out/ytrain.txt") $(field "T$T" "$peer")" >> "$out/pairs"
	done
done
echo "long context: one CPT step on a packed row of $DOC-token documents, demo base model (1.9M parameters), $THREADS thread(s), best of $REPS"
sed -n 's/^longctx: .*; attention \([^;]*\);.*/  ytrain attention path: \1 (torch 2.11)/p' "$out/ytrain.txt"
printf "  %-34s %10s %10s %8s\n" "tokens/s" ytrain peer ratio
for T in ${LENGTHS//,/ }; do
	awk -v t="$T" '$1 == t { print $2, $3 }' "$out/pairs" > "$out/pair.$T"
	printf "  %-34s %s\n" "$T tokens vs transformers SDPA" "$(ratios "$out/pair.$T")"
done
