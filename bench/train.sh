#!/usr/bin/env bash
# train throughput next to an eager PyTorch loop doing the same work on the
# same libtorch (Debian's python3-torch 1.13): LoRA r16 on all seven
# projections, NLIRG, AdamW, a Qwen3-shaped float32 model. Prints trained
# target tokens/s for fused (--token-batch 0) and windowed (--token-batch 10)
# SFT on both sides, the fused/windowed ratio, and peak RSS of a deeper model
# with and without --gradient-checkpointing. Run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out/train
mkdir -p "$out"
py=/usr/bin/python3
if ! $py -c 'import torch' 2>/dev/null; then
	echo "bench/train.sh: needs Debian's python3-torch: apt-get install -y python3-torch" >&2
	exit 1
fi
go build -o "$out/" ./train ./tools/tinymodel
THREADS=${THREADS:-1} DOCS=${DOCS:-16} LEN=${LEN:-256}
"$out/tinymodel" --arch Qwen3ForCausalLM --vocab 8192 --hidden 256 --layers 4 --heads 8 --kv-heads 4 \
	--intermediate 768 --seed 1 -o "$out/model"
mkdata() { # DOCS LEN FILE
	$py - "$1" "$2" > "$3" <<'PY'
import json, random, sys
random.seed(0)
docs, n = int(sys.argv[1]), int(sys.argv[2])
for i in range(docs):
    print(json.dumps({"id": f"d{i}", "input_ids": [random.randrange(8192) for _ in range(n)],
                      "loss_mask": [0] * (n // 4) + [1] * (n - n // 4)}))
PY
}
mkdata "$DOCS" "$LEN" "$out/fused.jsonl"
mkdata 2 "$LEN" "$out/windowed.jsonl" # windowed is ~20x slower: fewer documents

# trained target tokens/s over the training steps (metrics.jsonl), as the
# PyTorch loop times its own steps: loading and saving are left out on both sides
ytrain() { # DATA flags...
	local data=$1
	shift
	rm -rf "$out/run"
	"$out/train" --model "$out/model" --output "$out/run" --epochs 1 --lr 1e-4 --threads "$THREADS" \
		--lora-rank 16 --lora-alpha 32 "$@" "$data" 2> "$out/train.log" || { cat "$out/train.log" >&2; exit 1; }
	sed 's/.*"step_time":\([0-9.e-]*\).*"targets":\([0-9]*\).*/\1 \2/' "$out/run/metrics.jsonl" |
		awk '{ t += $1; n += $2 } END { printf "%.1f", n / t }'
}
go_fused=$(ytrain "$out/fused.jsonl" --token-batch 0 --batch-size 8)
go_win=$(ytrain "$out/windowed.jsonl" --token-batch 10)
pt_fused=$($py bench/py/train.py "$out/model" "$out/fused.jsonl" fused 8 0 16 32 "$THREADS" | sed -n 's/.*torch_targets_per_s=\([0-9.]*\).*/\1/p')
pt_win=$($py bench/py/train.py "$out/model" "$out/windowed.jsonl" windowed 1 10 16 32 "$THREADS" | sed -n 's/.*torch_targets_per_s=\([0-9.]*\).*/\1/p')
echo "train (LoRA r16, NLIRG, $LEN-token documents, $THREADS thread(s)): trained target tokens/s"
printf "  %-22s %10s %10s %8s\n" mode ytrain PyTorch ratio
for m in fused windowed; do
	g=go_$([ $m = fused ] && echo fused || echo win) p=pt_$([ $m = fused ] && echo fused || echo win)
	awk -v m="$m" -v g="${!g}" -v p="${!p}" 'BEGIN { printf "  %-22s %10.1f %10.1f %7.2fx\n", m, g, p, g / p }'
done
awk -v f="$go_fused" -v w="$go_win" 'BEGIN { printf "  fused / windowed (ytrain): %.1fx (goal >= 10x)\n", f / w }'

# peak memory: a deeper model, longer documents, with and without checkpointing
"$out/tinymodel" --arch Qwen3ForCausalLM --vocab 8192 --hidden 256 --layers 12 --heads 8 --kv-heads 4 \
	--intermediate 768 --seed 1 -o "$out/deep"
mkdata 4 1024 "$out/long.jsonl"
peak() {
	rm -rf "$out/run"
	/usr/bin/time -f %M "$out/train" --model "$out/deep" --output "$out/run" --epochs 1 --token-batch 0 --batch-size 4 \
		--threads "$THREADS" "$@" "$out/long.jsonl" 2>&1 >/dev/null | tail -1
}
plain=$(peak) ckpt=$(peak --gradient-checkpointing)
awk -v a="$plain" -v b="$ckpt" 'BEGIN { printf "  peak RSS, 12 layers, 4x1024 tokens: %.0f MB plain, %.0f MB with --gradient-checkpointing (%.2fx)\n", a / 1024, b / 1024, b / a }'
