#!/usr/bin/env bash
# The LM head of a large vocabulary (issue 24 §3): score and a fused LoRA
# step (NLIRG, r16) at LEN x BATCH = 8k tokens per batch on a random Qwen3
# with VOCAB = 151,936 (Qwen's), next to their peers on the same torch 2.11
# (bench/score.sh, bench/train.sh say what the peers do). Peak RSS of each
# process and tokens/s (score: padded tokens; train: trained targets over
# the steps but the first), REPS interleaved reps, best of each side and
# the spread of the per-rep ratios. BASE=DIR also runs DIR/score and
# DIR/train (e.g. built from the parent commit) in the same reps, for
# before/after, and checks that both give the same losses. SMOLLM2=1 adds
# score on build/models/smollm2 (slow on one thread); PARTS="train" (or
# "score") runs one part only. Run from the
# repository root (make bench).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
out=bench/out/lmhead
mkdir -p "$out"
rm -rf "$out"/scores.*.jsonl "$out"/run.*
VOCAB=${VOCAB:-151936} LEN=${LEN:-1024} BATCH=${BATCH:-8} LR=1e-4
PARTS=${PARTS:-score train} SDOCS=${SDOCS:-$BATCH} TDOCS=${TDOCS:-$((3 * BATCH))} # train: 3 steps, the first is warm-up
peers make-model "$out/model" "$VOCAB" "${HIDDEN:-256}" "${LAYERS:-4}" >/dev/null
peers data "$out/score.jsonl" "$SDOCS" "$LEN" "$VOCAB"
peers data "$out/train.jsonl" "$TDOCS" "$LEN" "$VOCAB"
rss=$out/rss
sides=(new)
[ -n "${BASE:-}" ] && sides+=(base)
bin() { if [ "$1" = base ]; then echo "$BASE/$2"; else echo "bin/$2"; fi; }

# --format, not --encoding: a BASE= build from before issue 21 knows only the old name
score() { # SIDE: tokens/s, then peak MB
	peak "$(bin "$1" score)" --model "$out/model" --batch-tokens $((LEN * BATCH)) --threads "$THREADS" --format jsonl \
		-o "$out/scores.$1.jsonl" "$out/score.jsonl" 2> "$out/score.log" || { cat "$out/score.log" >&2; exit 1; }
	echo "$(sed -n 's/.* (\([0-9]*\) tokens\/s.*/\1/p' "$out/score.log") $(cat "$rss")"
}
train() { # SIDE: trained targets/s, then peak MB
	rm -rf "$out/run.$1"
	peak "$(bin "$1" train)" --model "$out/model" --output "$out/run.$1" --epochs 1 --lr "$LR" --threads "$THREADS" \
		--lora-rank 16 --lora-alpha 32 --lora-dropout 0 --weighting nlirg --token-batch 0 --batch-size "$BATCH" \
		"$out/train.jsonl" 2> "$out/train.log" || { cat "$out/train.log" >&2; exit 1; }
	echo "$(sed 's/.*"step_time":\([0-9.e-]*\).*"targets":\([0-9]*\).*/\1 \2/' "$out/run.$1/metrics.jsonl" |
		awk 'NR > 1 { t += $1; n += $2 } END { printf "%.1f", n / t }') $(cat "$rss")"
}
for f in score train; do for s in "${sides[@]}" peer; do : > "$out/$f.$s"; done; done
for _ in $(seq "$REPS"); do
	[[ $PARTS == *score* ]] || continue
	for s in "${sides[@]}"; do score "$s" >> "$out/score.$s"; done
	line=$(peak "$PY" bench/py/peers.py score "$out/model" "$out/score.jsonl" "$out/scores.new.jsonl" $((LEN * BATCH)) "$THREADS")
	echo "$(field tokens_per_s "$line") $(cat "$rss")" >> "$out/score.peer"
	diff=$(field max_abs_diff "$line")
done
for _ in $(seq "$REPS"); do
	[[ $PARTS == *train* ]] || continue
	for s in "${sides[@]}"; do train "$s" >> "$out/train.$s"; done
	line=$(peak "$PY" bench/py/peers.py peft "$out/model" "$out/train.jsonl" fused "$BATCH" 0 "$LR" "$THREADS" 2> "$out/peer.log") ||
		{ cat "$out/peer.log" >&2; exit 1; }
	echo "$(field targets_per_s "$line") $(cat "$rss")" >> "$out/train.peer"
done

# side FILE: best tokens/s, median-free spread and peak RSS (min-max) of the reps
stats() { awk '{ if (NR == 1 || $1 > a) a = $1; if (NR == 1 || $1 < lo) lo = $1
	if (NR == 1 || $2 < m) m = $2; if (NR == 1 || $2 > M) M = $2 }
	END { printf "%9.0f (%.0f-%.0f) %7d (%d-%d)", a, lo, a, M, m, M }' "$1"; }
ratio() { # A B COLUMN: best A / best B (tok/s: max; RSS: max)
	paste -d' ' "$1" "$2" | awk -v c="$3" '{ x = $(c); y = $(c + 2); if (NR == 1 || x > a) a = x; if (NR == 1 || y > b) b = y }
		END { printf "%.2fx", a / b }'; }
echo "lmhead: random Qwen3, vocab $VOCAB, hidden ${HIDDEN:-256}, ${LAYERS:-4} layers; $BATCH x $LEN = $((LEN * BATCH)) tokens a batch ($((LEN - LEN / 4)) targets a row), $THREADS thread(s), torch 2.11, $REPS reps"
printf "  %-40s %-26s %-24s %s\n" "" "tokens/s best (min-max)" "peak RSS MB (min-max)" "vs peer: tok/s, RSS"
diff=${diff:-}
for f in $PARTS; do
	for s in "${sides[@]}" peer; do
		name="$f ytrain"; [ "$s" = base ] && name="$f ytrain before (BASE)"; [ "$s" = peer ] && name="$f peer"
		[ "$f" = train ] && [ "$s" != peer ] && name="$name (LoRA fused)"
		r=""; [ "$s" != peer ] && r="$(ratio "$out/$f.$s" "$out/$f.peer" 1), $(ratio "$out/$f.$s" "$out/$f.peer" 2)"
		printf "  %-40s %s   %s\n" "$name" "$(stats "$out/$f.$s")" "$r"
	done
	[ -n "${BASE:-}" ] && echo "  $f after/before: tok/s $(ratio "$out/$f.new" "$out/$f.base" 1), peak RSS $(ratio "$out/$f.new" "$out/$f.base" 2)"
done
[ -n "$diff" ] && echo "  score: max |loss or entropy difference| from transformers: $diff"
if [ -n "${BASE:-}" ]; then
	"$PY" - "$out" <<'EOF'
import json, sys
o = sys.argv[1]
rd = lambda p: [json.loads(l) for l in open(p)]
import os
if os.path.exists(f"{o}/scores.base.jsonl"):
    s = max(abs(a - b) for x, y in zip(rd(f"{o}/scores.new.jsonl"), rd(f"{o}/scores.base.jsonl"))
            for k in ("loss", "entropy") for a, b in zip(x[k], y[k]))
    print(f"  after vs before: score max |loss or entropy difference| {s:.2g}")
if os.path.exists(f"{o}/run.base/metrics.jsonl"):
    t = max(abs(x[k] - y[k]) for x, y in zip(rd(f"{o}/run.new/metrics.jsonl"), rd(f"{o}/run.base/metrics.jsonl"))
            for k in ("loss", "weighted_loss", "grad_norm"))
    print(f"  after vs before: train max |difference| of step loss, weighted loss, grad norm {t:.2g}")
EOF
fi

[ -n "${SMOLLM2:-}" ] || { echo "  SmolLM2: skipped (SMOLLM2=1 to score build/models/smollm2)"; exit 0; }
[ -d build/models/smollm2 ] || { echo "  SmolLM2: skipped, build/models/smollm2 is missing (make smollm2)"; exit 0; }
peers data "$out/smol.jsonl" 64 128 49152
for s in "${sides[@]}"; do
	peak "$(bin "$s" score)" --model build/models/smollm2 --batch-tokens 8192 --threads "$THREADS" --format jsonl \
		-o "$out/smol.$s.jsonl" "$out/smol.jsonl" 2> "$out/score.log" || { cat "$out/score.log" >&2; exit 1; }
	echo "  SmolLM2 score, 64 x 128 tokens ($s): $(sed -n 's/.* (\([0-9]*\) tokens\/s.*/\1/p' "$out/score.log") tokens/s, peak RSS $(cat "$rss") MB"
done
line=$(peak "$PY" bench/py/peers.py score build/models/smollm2 "$out/smol.jsonl" "$out/smol.new.jsonl" 8192 "$THREADS")
echo "  SmolLM2 score, transformers: $(field tokens_per_s "$line") tokens/s, peak RSS $(cat "$rss") MB, max |difference| $(field max_abs_diff "$line")"
