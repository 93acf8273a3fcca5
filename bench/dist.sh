#!/usr/bin/env bash
# What data parallelism costs here: all-reduce (gloo, 127.0.0.1) per MB and
# per optimizer step of the demo model's gradients (LoRA r16 and full), 2
# processes next to 1, and a 1-process training step of the same model for
# scale (SKIP_COLLECTIVES=1: only that; REPS, THREADS). On a 2-core machine
# the point is the overhead, not a speed-up: both ranks share the cores. Run
# from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out/dist
mkdir -p "$out"
go build -o "$out/" ./bench/dist ./cmd/train ./tools/tinymodel
# the demo's base model shape (scripts/demo-base.sh)
"$out/tinymodel" --arch Qwen3ForCausalLM --vocab 2048 --hidden 192 --layers 4 --heads 6 --kv-heads 2 \
	--intermediate 512 --tied --seed 1 -o "$out/model"
[ -n "${SKIP_COLLECTIVES:-}" ] || "$out/dist" --model "$out/model" --reps "${REPS:-20}"

# one process's optimizer step on the same model: batch 8 × 256 tokens
awk 'BEGIN { srand(1); for (d = 0; d < 64; d++) { printf "{\"id\":\"d%d\",\"input_ids\":[", d
	for (t = 0; t < 256; t++) printf "%s%d", (t ? "," : ""), int(rand() * 2048)
	printf "],\"loss_mask\":["; for (t = 0; t < 256; t++) printf "%s%d", (t ? "," : ""), (t >= 64)
	print "]}" } }' > "$out/data.jsonl"
step() { # flags...
	rm -rf "$out/run"
	"$out/train" --model "$out/model" --output "$out/run" --epochs 1 --token-batch 0 --batch-size 8 \
		--lr 1e-4 --weighting none --threads "${THREADS:-1}" "$@" "$out/data.jsonl" 2> "$out/train.log" || { cat "$out/train.log" >&2; exit 1; }
	# median step_time, the first step (warm-up) left out
	sed -n 's/.*"step_time":\([0-9.e-]*\).*/\1/p' "$out/run/metrics.jsonl" | tail -n +2 | sort -g |
		awk '{ v[NR] = $1 } END { printf "%.1f", 1000 * v[int((NR + 1) / 2)] }'
}
echo "one training step, 1 process, batch 8 x 256 tokens, ${THREADS:-1} thread(s): LoRA r16 $(step --lora-rank 16) ms, full $(step --full) ms"
