#!/usr/bin/env bash
# One CPT training step (forward, mean CE, backward; every weight trained)
# of the demo base model's shape (1.9M parameters, so attention dominates
# long rows), ytrain's decoder (bench/longctx: attention per document, as
# score and train run it) next to transformers' Qwen3 on the same torch
# 2.11 and THREADS threads:
#   - one document of SHORT and LONG tokens: transformers' causal SDPA (no
#     mask); issue goal: LONG at >= 1.5x the peer
#   - a LONG-token row packed with DOC-token documents: the peer needs a
#     4-D block-diagonal mask (position ids keep documents apart only in
#     flash-attention's CUDA varlen path); issue goal: ytrain's packed LONG
#     row at >= 50 % of its own tokens/s on SHORT-token rows
# STEPS timed steps after one warm-up step; REPS (default 1 here)
# interleaved runs. MASK=1 adds ytrain's old path (the explicit T×T mask)
# on the packed row. Run from the repository root.
set -euo pipefail
REPS=${REPS:-1}
source "$(dirname "$0")/lib.sh"
out=bench/out/longctx
mkdir -p "$out"
SHORT=${SHORT:-1024} LONG=${LONG:-16384} DOC=${DOC:-1024} STEPS=${STEPS:-1}
go build -o "$out/" ./bench/longctx
: > "$out/one.$SHORT"; : > "$out/one.$LONG"; : > "$out/packed"; : > "$out/self"
tps() { awk -v t="$1:" '$1 == "T" && $2 == t { print $5 }' "$2"; }
for _ in $(seq "$REPS"); do
	"$out/longctx" -lengths "$SHORT,$LONG" -doc 0 -steps "$STEPS" -threads "$THREADS" -max-gb 1000 > "$out/ytrain.one.txt"
	"$out/longctx" -lengths "$LONG" -doc "$DOC" -steps "$STEPS" -threads "$THREADS" -max-gb 1000 > "$out/ytrain.packed.txt"
	one=$(peers longctx "$SHORT,$LONG" 0 "$STEPS" "$THREADS")
	packed=$(peers longctx "$LONG" "$DOC" "$STEPS" "$THREADS")
	echo "$(tps "$SHORT" "$out/ytrain.one.txt") $(field "T$SHORT" "$one")" >> "$out/one.$SHORT"
	echo "$(tps "$LONG" "$out/ytrain.one.txt") $(field "T$LONG" "$one")" >> "$out/one.$LONG"
	echo "$(tps "$LONG" "$out/ytrain.packed.txt") $(field "T$LONG" "$packed")" >> "$out/packed"
	echo "$(tps "$LONG" "$out/ytrain.packed.txt") $(tps "$SHORT" "$out/ytrain.one.txt")" >> "$out/self"
	if [ -n "${MASK:-}" ]; then
		"$out/longctx" -mask -lengths "$LONG" -doc "$DOC" -steps "$STEPS" -threads "$THREADS" -max-gb 1000 > "$out/ytrain.mask.txt"
	fi
done
echo "long context: one CPT step, demo base model (1.9M parameters), $THREADS thread(s), best of $REPS"
sed -n 's/^longctx: .*; attention \([^;]*\);.*/  ytrain attention: \1 (torch 2.11)/p' "$out/ytrain.one.txt"
printf "  %-52s %10s %10s %8s\n" "tokens/s" ytrain peer ratio
printf "  %-52s %s\n" "one $SHORT-token document vs causal SDPA" "$(ratios "$out/one.$SHORT")"
printf "  %-52s %s\n" "one $LONG-token document vs causal SDPA (goal 1.5x)" "$(ratios "$out/one.$LONG")"
printf "  %-52s %s\n" "$LONG tokens of $DOC-token documents vs the 4-D mask" "$(ratios "$out/packed")"
printf "  %-52s %s\n" "ytrain alone: packed $LONG row vs $SHORT rows (goal 0.5x)" "$(ratios "$out/self")"
if [ -n "${MASK:-}" ]; then
	printf "  %-52s %10.1f\n" "ytrain, the explicit T×T mask on the packed row" "$(tps "$LONG" "$out/ytrain.mask.txt")"
fi
