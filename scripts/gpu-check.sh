#!/bin/sh
# gpu-check.sh - run from an unpacked `make dist` on a machine with g++ and
# python3's torch (a GPU box: no Go needed). Rebuilds lib/libgotch_tch.so
# against that torch, writes a random Qwen3-0.6B-shaped checkpoint and
# scores random documents with it, printing the shim build time and stub
# count, score's tokens/s and the peak GPU memory.
#
#   sh gpu-check.sh                  # cuda, Qwen3-0.6B shape, bf16
#   DEVICE=cpu SIZE=small LIBTORCH= sh gpu-check.sh   # dry run: CPU, Debian libtorch
#
# Environment: DEVICE (cuda), SIZE (0.6b|small), LIBTORCH (python), DOCS
# (64), LEN (1024), BATCH (16384 padded tokens per forward), WORK (a temp dir).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
DEVICE=${DEVICE:-cuda} SIZE=${SIZE:-0.6b} DOCS=${DOCS:-64} LEN=${LEN:-1024} BATCH=${BATCH:-16384}
WORK=${WORK:-$(mktemp -d)}
echo "== gpu-check: device $DEVICE, size $SIZE, work dir $WORK"

t0=$(date +%s)
(cd "$here/shim-src" && LIBTORCH=${LIBTORCH-python} OUT="$here/lib" JOBS=$(nproc) PARTS=${PARTS:-4} sh build_shim.sh) >"$WORK/shim.log" 2>&1 ||
	{ tail -30 "$WORK/shim.log"; echo "gpu-check: shim build failed (log: $WORK/shim.log)"; exit 1; }
t1=$(date +%s)
echo "shim: built in $((t1 - t0)) s, $(wc -l <"$here/lib/stubs.txt") stubbed functions"
grep -E '^(TORCH_VERSION|CUDA)=' "$here/lib/shim.env" | tr '\n' ' '; echo

case $SIZE in
0.6b) shape="--vocab 151936 --hidden 1024 --layers 28 --heads 16 --kv-heads 8 --head-dim 128 --intermediate 3072 --tied --dtype BF16" ;;
small) shape="--vocab 4096 --hidden 256 --layers 4 --heads 8 --kv-heads 4 --intermediate 768 --dtype BF16" ;;
*) echo "gpu-check: SIZE $SIZE: want 0.6b or small" >&2; exit 2 ;;
esac
# shellcheck disable=SC2086
"$here/bin/tinymodel" --arch Qwen3ForCausalLM $shape --seed 1 -o "$WORK/model"
vocab=$(sed -n 's/.*"vocab_size": *\([0-9]*\).*/\1/p' "$WORK/model/config.json")
awk -v docs="$DOCS" -v len="$LEN" -v vocab="$vocab" 'BEGIN {
	srand(1)
	for (d = 0; d < docs; d++) {
		ids = ""; mask = ""
		for (t = 0; t < len; t++) {
			ids = ids (t ? "," : "") int(rand() * vocab)
			mask = mask (t ? "," : "") (t >= len / 4 ? 1 : 0)
		}
		printf "{\"id\":\"d%d\",\"input_ids\":[%s],\"loss_mask\":[%s]}\n", d, ids, mask
	}
}' >"$WORK/tokens.jsonl"

peak=n/a
if [ "$DEVICE" != cpu ] && command -v nvidia-smi >/dev/null; then
	nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 >"$WORK/mem.log" &
	smi=$!
fi
"$here/bin/score" --model "$WORK/model" --device "$DEVICE" --batch-tokens "$BATCH" -o "$WORK/scores.arrow" "$WORK/tokens.jsonl" 2>"$WORK/score.log" ||
	{ cat "$WORK/score.log"; exit 1; }
if [ -n "${smi:-}" ]; then
	kill "$smi"
	peak="$(sort -n "$WORK/mem.log" | tail -1) MiB (nvidia-smi, whole GPU)"
fi
echo "score: $(sed -n 's/^score: \(.*tokens\/s\).*/\1)/p' "$WORK/score.log"; peak GPU memory $peak"
