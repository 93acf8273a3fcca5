#!/usr/bin/env bash
# generate tokens/s next to transformers' generate on SmolLM2-135M-Instruct
# (make smollm2), the same prompts (the probe's common-knowledge questions,
# chat-templated), greedy, MAXNEW new tokens, at batch 1 and BATCH, THREADS
# threads on both sides; the answers must be the same text. Beside it the
# memory-bandwidth bound at batch 1: the weights' bytes read per token over
# the bandwidth the peer's torch measures by summing a 512 MB tensor.
# Skips with a line when the model has not been fetched. N prompts, REPS
# interleaved runs: best of each and the spread of the per-rep ratios.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
MODEL=${MODEL:-build/models/smollm2}
if [ ! -f "$MODEL/model.safetensors" ]; then
	echo "generate: skipped: $MODEL not fetched (make smollm2)"
	exit 0
fi
out=bench/out/generate
mkdir -p "$out"
N=${N:-8} MAXNEW=${MAXNEW:-64} BATCH=${BATCH:-8}
go run ./tools/realworld --probe -o "$out/probe" > /dev/null
awk -v n="$N" '/"probe":"ck"/ && k++ < n' "$out/probe/probe.jsonl" > "$out/prompts.jsonl" # (grep | head would die of SIGPIPE under pipefail)
for bs in 1 "$BATCH"; do
	: > "$out/pairs.$bs"
	for _ in $(seq "$REPS"); do
		bin/generate --model "$MODEL" --threads "$THREADS" --batch-size "$bs" --max-new-tokens "$MAXNEW" \
			-o "$out/ytrain.$bs.jsonl" "$out/prompts.jsonl" 2> "$out/generate.log" || { cat "$out/generate.log" >&2; exit 1; }
		g=$(sed -n 's/.* (\([0-9.]*\) tokens\/s)$/\1/p' "$out/generate.log")
		peer=$(peers generate "$MODEL" "$out/prompts.jsonl" "$out/peer.$bs.jsonl" "$MAXNEW" "$bs" "$THREADS")
		echo "$g $(field tok_s "$peer")" >> "$out/pairs.$bs"
	done
	same=$(cmp -s <(jq -c .response "$out/ytrain.$bs.jsonl") <(jq -c .response "$out/peer.$bs.jsonl") && echo same || echo DIFFERENT)
	printf "  %-34s %s  answers %s\n" "batch $bs tokens/s vs transformers" "$(ratios "$out/pairs.$bs")" "$same"
done | { echo "generate: SmolLM2-135M-Instruct, $N prompts, <= $MAXNEW new tokens, $THREADS thread(s), best of $REPS, target >= 1.5x"; cat; }
"$PY" - "$MODEL" "$THREADS" <<'PY'
import os, sys, time, torch
torch.set_num_threads(int(sys.argv[2]))
x = torch.ones(128 << 20)  # 512 MB
x.sum()
t = time.perf_counter(); n = 5
for _ in range(n):
    x.sum()
bw = 4 * x.numel() * n / (time.perf_counter() - t)
w = os.path.getsize(os.path.join(sys.argv[1], "model.safetensors"))
print(f"  bandwidth bound at batch 1: {w / 1e6:.0f} MB of weights per token / {bw / 1e9:.1f} GB/s = {bw / w:.1f} tokens/s")
PY
