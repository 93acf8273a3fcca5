#!/usr/bin/env bash
# score tokens/s next to transformers on the same torch 2.11 (build/venv):
# a random Qwen3 saved by transformers, the same records in the same batches
# (BATCH padded tokens), THREADS threads on both sides. The peer runs the
# decoder (SDPA), the LM head at the target positions only and log-softmax,
# per-target loss and entropy, as score does; it checks score's output
# (max |difference|). REPS interleaved runs; best of each and the spread of
# the per-rep ratios, and each side's peak RSS. DOCS LEN VOCAB HIDDEN LAYERS
# for bigger. MODEL=<HF folder> (make bench: build/models/smollm2) scores
# that model on DOCS realworld chat records instead (skipped with a line
# where it is missing). Run from the repository root (make bench).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
DOCS=${DOCS:-64} LEN=${LEN:-256} BATCH=${BATCH:-4096} VOCAB=${VOCAB:-8192}
bench_model score "$VOCAB"
if [ -n "${MODEL:-}" ]; then
	real_records "$out/tokens.jsonl" "$DOCS"
	what="$(basename "$MODEL"): $DOCS realworld chat records"
else
	peers data "$out/tokens.jsonl" "$DOCS" "$LEN" "$VOCAB"
	what="random Qwen3: $DOCS docs x $LEN tokens"
fi
rss=$out/rss
: > "$out/pairs"
for _ in $(seq "$REPS"); do
	peak bin/score --model "$model" --batch-tokens "$BATCH" --threads "$THREADS" --encoding jsonl \
		-o "$out/scores.jsonl" "$out/tokens.jsonl" 2> "$out/score.log" || { cat "$out/score.log" >&2; exit 1; }
	g=$(sed -n 's/.* (\([0-9]*\) tokens\/s.*/\1/p' "$out/score.log") gm=$(cat "$rss")
	peer=$(peak "$PY" bench/py/peers.py score "$model" "$out/tokens.jsonl" "$out/scores.jsonl" "$BATCH" "$THREADS") pm=$(cat "$rss")
	echo "$g $(field tokens_per_s "$peer")" >> "$out/pairs"
done
echo "score: $what, batch $BATCH tokens, $THREADS thread(s), torch $(field torch "$peer"), best of $REPS"
printf "  %-34s %10s %10s %8s\n" "" ytrain peer "ratio"
printf "  %-34s %s\n" "tokens/s vs transformers forward" "$(ratios "$out/pairs")  target >= 1.0x"
printf "  %-34s %10s %10s %7s\n" "peak RSS (MB, last rep)" "$gm" "$pm" "$(awk -v a="$gm" -v b="$pm" 'BEGIN { printf "%.2fx", a / b }')"
echo "  max |loss or entropy difference| from transformers: $(field max_abs_diff "$peer")"
[ -z "${MODEL:-}" ] || exit 0
# where score's time goes: one run under Go's CPU profiler (bench/scoreprof)
go build -o "$out/" ./bench/scoreprof
"$out/scoreprof" --model "$model" --batch-tokens "$BATCH" --threads "$THREADS" -o "$out/score.pprof" \
	"$out/tokens.jsonl" > /dev/null
go tool pprof -top -cum "$out/scoreprof" "$out/score.pprof" 2> /dev/null | awk '
	/^Duration/ { sub(/s$/, "", $(NF - 1)); total = $(NF - 1) }
	function cum(f) { v = $4; if (v ~ /ms$/) { sub(/ms$/, "", v); v /= 1000 } else sub(/s$/, "", v); t[f] = v }
	/\/model\.\(\*Model\)\.HiddenNoGrad$/ { cum("fwd") } /\/model\.\(\*Model\)\.Logits$/ { cum("head") }
	/\/model\.\(\*Model\)\.headChunk$/ { cum("chunk") }
	END { o = total - t["fwd"] - t["chunk"]
		printf "  profile (CPU samples, %.1fs): decoder %.0f%%, LM head %.0f%%, log-softmax, gather and entropy %.0f%%, data and the rest %.0f%%\n",
			total, 100 * t["fwd"] / total, 100 * t["head"] / total, 100 * (t["chunk"] - t["head"]) / total, 100 * o / total }'
