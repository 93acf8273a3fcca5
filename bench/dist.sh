#!/usr/bin/env bash
# What data parallelism costs here: all-reduce (gloo, 127.0.0.1) per MB and
# per optimizer step of the demo model's gradients (LoRA r16 and full), 2
# processes next to 1; then train itself: a 1-process step for scale, the
# tokens/s of 2 ranks next to 1 at the same global batch, and the optimizer
# state --zero 1 leaves per rank (SKIP_COLLECTIVES=1: skip the first part;
# REPS, THREADS). On a 2-core machine the point is the overhead, not a
# speed-up: both ranks share the cores. Run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out/dist
mkdir -p "$out"
go build -o "$out/" ./bench/dist ./cmd/train ./tools/tinymodel
# a 1.9M-parameter tiny Qwen3 (the shape of the first demo base; demo/base is d 256)
"$out/tinymodel" --arch Qwen3ForCausalLM --vocab 2048 --hidden 192 --layers 4 --heads 6 --kv-heads 2 \
	--intermediate 512 --tied --seed 1 -o "$out/model"
[ -n "${SKIP_COLLECTIVES:-}" ] || "$out/dist" --model "$out/model" --reps "${REPS:-20}"

# one process's optimizer step on the same model: batch 8 × 256 tokens
awk 'BEGIN { srand(1); for (d = 0; d < 64; d++) { printf "{\"id\":\"d%d\",\"input_ids\":[", d
	for (t = 0; t < 256; t++) printf "%s%d", (t ? "," : ""), int(rand() * 2048)
	printf "],\"loss_mask\":["; for (t = 0; t < 256; t++) printf "%s%d", (t ? "," : ""), (t >= 64)
	print "]}" } }' > "$out/data.jsonl"
# median of a metrics.jsonl field over the steps, the first (warm-up) left out
median() { # FIELD
	sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p" "$out/run/metrics.jsonl" | tail -n +2 | sort -g |
		awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] }'
}
# train on W ranks as torchrun would start them (W = 1: alone), global batch 8
train() { # W flags...
	local w=$1 port
	shift
	rm -rf "$out/run"
	port=$(( 20000 + RANDOM % 20000 ))
	for r in $(seq 0 $((w - 1))); do
		env $([ "$w" -gt 1 ] && echo RANK=$r LOCAL_RANK=$r WORLD_SIZE=$w MASTER_ADDR=127.0.0.1 MASTER_PORT=$port) \
			"$out/train" --model "$out/model" --output "$out/run" --epochs 1 --token-batch 0 --batch-size $((8 / w)) \
			--lr 1e-4 --weighting none --threads "${THREADS:-1}" "$@" "$out/data.jsonl" 2> "$out/train-$r.log" &
	done
	wait || { cat "$out"/train-*.log >&2; exit 1; }
}
train 1 --lora-rank 16
lora1=$(median step_time) lora1t=$(median tokens_per_s)
train 1 --full
full1=$(median step_time) full1t=$(median tokens_per_s)
echo "one training step, 1 process, batch 8 x 256 tokens, ${THREADS:-1} thread(s): LoRA r16 $(awk -v s="$lora1" 'BEGIN { printf "%.0f", 1000 * s }') ms, full $(awk -v s="$full1" 'BEGIN { printf "%.0f", 1000 * s }') ms"
train 2 --lora-rank 16
lora2t=$(median tokens_per_s)
train 2 --full --zero 1
full2t=$(median tokens_per_s)
zero=$(sed -n 's/.*--zero 1: optimizer state \(.*\)/\1/p' "$out/train-0.log")
echo "train tokens/s, global batch 8 (2 ranks: 4 each, sharing the same cores):"
printf "  %-22s %10s %12s %7s\n" run "1 process" "2 processes" ratio
awk -v a="$lora1t" -v b="$lora2t" 'BEGIN { printf "  %-22s %10.0f %12.0f %6.2fx\n", "LoRA r16", a, b, b / a }'
awk -v a="$full1t" -v b="$full2t" 'BEGIN { printf "  %-22s %10.0f %12.0f %6.2fx\n", "full (2 ranks --zero 1)", a, b, b / a }'
echo "  --zero 1 per rank: optimizer state $zero"
