#!/usr/bin/env bash
# train next to its peers on the same torch 2.11 (build/venv), the same
# random Qwen3 (saved by transformers), data, batch, sequence length and
# THREADS: LoRA r16 (α 32, dropout 0.2, all seven projections), AdamW
# (lr 1e-4, weight decay 0.01), float32.
#   fused (--token-batch 0, NLIRG) vs a transformers + peft loop doing the
#     same: NLIRG weights (docs/nlirg.md), Σw·ℓ/#(w·ℓ≠0), one step per batch
#   fused vs TRL's SFTTrainer with the same LoRA: plain mean CE on the answer
#     tokens (completion_only_loss), bf16 off (its CPU default is bf16 autocast)
#   windowed (--token-batch 10) vs Y-Trainer's loop: per window of 10
#     answer tokens a full forward over the sequence, backward, AdamW step
# Trained target tokens/s over every optimizer step but the first (warm-up),
# peak RSS of each process, ratios ytrain/peer. REPS interleaved runs: best
# of each side and the spread of the per-rep ratios. DOCS LEN BATCH HIDDEN
# LAYERS for bigger; CKPT=1 adds peak RSS of a 12-layer model on 4x1024
# tokens with and without --gradient-checkpointing. MODEL=<HF folder> (make
# bench: build/models/smollm2) trains that model on DOCS (WDOCS) realworld
# chat records instead (skipped with a line where it is missing). Run from
# the repository root (make bench).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
DOCS=${DOCS:-32} LEN=${LEN:-256} BATCH=${BATCH:-8} WDOCS=${WDOCS:-2} LR=1e-4
bench_model train 8192
if [ -n "${MODEL:-}" ]; then
	real_records "$out/fused.jsonl" "$DOCS"
	real_records "$out/windowed.jsonl" "$WDOCS"
	LEN=$(awk -F'"input_ids":\\[' '{ n = split($2, a, "]"); n = split(a[1], b, ","); if (n > m) m = n } END { print m }' "$out/fused.jsonl")
	what="$(basename "$MODEL"), realworld chat records (up to $LEN tokens)"
else
	peers data "$out/fused.jsonl" "$DOCS" "$LEN" 8192
	peers data "$out/windowed.jsonl" "$WDOCS" "$LEN" 8192 # windowed is ~20x slower: fewer documents
	what="random Qwen3, $LEN-token documents ($((LEN / 4)) prompt)"
fi
rss=$out/rss

# trained target tokens/s of ytrain's steps but the first, from metrics.jsonl
ytrain() { # DATA flags...
	local data=$1
	shift
	rm -rf "$out/run"
	peak bin/train --model "$model" --output "$out/run" --epochs 1 --lr "$LR" --threads "$THREADS" \
		--lora-rank 16 --lora-alpha 32 --lora-dropout 0.2 --weighting nlirg "$@" "$data" 2> "$out/train.log" ||
		{ cat "$out/train.log" >&2; exit 1; }
	sed 's/.*"step_time":\([0-9.e-]*\).*"targets":\([0-9]*\).*/\1 \2/' "$out/run/metrics.jsonl" |
		awk 'NR > 1 { t += $1; n += $2 } END { printf "%.1f", n / t }'
}
peer() { # peers.py arguments: its targets/s
	local line
	line=$(peak "$PY" bench/py/peers.py "$@" 2> "$out/peer.log") || { cat "$out/peer.log" >&2; exit 1; }
	field targets_per_s "$line"
}
: > "$out/peft" ; : > "$out/trl"; : > "$out/win"
for _ in $(seq "$REPS"); do
	g=$(ytrain "$out/fused.jsonl" --token-batch 0 --batch-size "$BATCH") gm=$(cat "$rss")
	p=$(peer peft "$model" "$out/fused.jsonl" fused "$BATCH" 0 "$LR" "$THREADS") pm=$(cat "$rss")
	echo "$g $p" >> "$out/peft"
	t=$(peer trl "$model" "$out/fused.jsonl" "$BATCH" "$LEN" "$LR" "$THREADS") tm=$(cat "$rss")
	echo "$g $t" >> "$out/trl"
	gw=$(ytrain "$out/windowed.jsonl" --token-batch 10) gwm=$(cat "$rss")
	pw=$(peer peft "$model" "$out/windowed.jsonl" windowed 1 10 "$LR" "$THREADS") pwm=$(cat "$rss")
	echo "$gw $pw" >> "$out/win"
done
echo "train: $what; LoRA r16, AdamW lr $LR, batch $BATCH, $THREADS thread(s), torch 2.11 both sides, best of $REPS"
printf "  %-44s %10s %10s %8s\n" "trained target tokens/s" ytrain peer ratio
printf "  %-44s %s  target >= 1.0x\n" "fused NLIRG vs transformers+peft loop" "$(ratios "$out/peft")"
printf "  %-44s %s\n" "fused NLIRG vs TRL SFTTrainer (plain CE)" "$(ratios "$out/trl")"
printf "  %-44s %s\n" "windowed (10) vs Y-Trainer's window loop" "$(ratios "$out/win")"
echo "  peak RSS (MB, last rep): ytrain fused $gm, transformers+peft $pm ($(awk -v a="$gm" -v b="$pm" 'BEGIN { printf "%.2fx", a / b }')), TRL $tm ($(awk -v a="$gm" -v b="$tm" 'BEGIN { printf "%.2fx", a / b }')); windowed: ytrain $gwm, loop $pwm"
awk -v f="$(sort -g "$out/peft" | tail -1 | cut -d' ' -f1)" -v w="$(sort -g "$out/win" | tail -1 | cut -d' ' -f1)" \
	'BEGIN { printf "  fused / windowed (ytrain, best): %.1fx\n", f / w }'

[ -n "${CKPT:-}" ] && [ -z "${MODEL:-}" ] || exit 0
# peak memory: a deeper model, longer documents, with and without checkpointing
peers make-model "$out/deep" 8192 256 12 >/dev/null
peers data "$out/long.jsonl" 4 1024 8192
deep() {
	rm -rf "$out/run"
	peak bin/train --model "$out/deep" --output "$out/run" --epochs 1 --token-batch 0 --batch-size 4 \
		--threads "$THREADS" "$@" "$out/long.jsonl" 2> "$out/train.log" >/dev/null || { cat "$out/train.log" >&2; exit 1; }
	cat "$rss"
}
plain=$(deep) ckpt=$(deep --gradient-checkpointing)
awk -v a="$plain" -v b="$ckpt" 'BEGIN { printf "  peak RSS, 12 layers, 4x1024 tokens: %.0f MB plain, %.0f MB with --gradient-checkpointing (%.2fx)\n", a, b, b / a }'
