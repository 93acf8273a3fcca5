#!/bin/sh
# gpu-check.sh - run from an unpacked `make gpu-bundle` (or `make dist`) on a
# machine with g++ and pip's torch (torch 2.11 + CUDA 13 from PyPI: a GPU
# box, no Go needed). Prints:
#  1. the shim rebuilt against that torch: build time, stub count;
#  2. score on a random Qwen3-0.6B-shaped checkpoint: tokens/s, peak memory;
#  and, where python has transformers and peft (gpu_check.py):
#  3. parity: score's per-token losses vs transformers' own (f32 and bf16);
#  4. train fused and windowed: tokens/s, peak memory, MFU, next to the same
#     loops in transformers+peft;
#  5. a LoRA adapter written by train loads with PeftModel.from_pretrained and
#     gives the logits of train's merged model.
#
#   sh gpu-check.sh                  # cuda, Qwen3-0.6B shape, bf16
#   DEVICE=cpu SIZE=small PYTHON=.../build/venv/bin/python sh gpu-check.sh   # dry run on a CPU
#
# Environment: DEVICE (cuda), SIZE (0.6b|small), PYTHON (python3: the one
# with torch; the shim is built against its torch), LIBTORCH (python, or a
# libtorch root, or empty for Debian's), DOCS (64), LEN (1024), BATCH (16384
# padded tokens per forward), WORK (a temp dir).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
DEVICE=${DEVICE:-cuda} SIZE=${SIZE:-0.6b} DOCS=${DOCS:-64} LEN=${LEN:-1024} BATCH=${BATCH:-16384}
py=${PYTHON:-python3}
case $py in */*) py=$(cd "$(dirname "$py")" && pwd)/$(basename "$py") ;; esac # the shim is built from shim-src/
WORK=${WORK:-$(mktemp -d)}
export HF_HUB_DISABLE_PROGRESS_BARS=1 TRANSFORMERS_VERBOSITY=error
echo "== gpu-check: device $DEVICE, size $SIZE, work dir $WORK"
$py -c 'import torch; print("python torch", torch.__version__, "cuda", torch.version.cuda, "gpus", torch.cuda.device_count())' 2>/dev/null ||
	echo "gpu-check: $py has no torch"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

# The pip wheel's libtorch_cuda.so finds the nvidia-* wheels' libraries by
# its own RUNPATH, so the shim needs nothing on LD_LIBRARY_PATH. The cached
# stub list for the wheel's version skips the failing first compile.
t0=$(date +%s)
(cd "$here/shim-src" && LIBTORCH=${LIBTORCH-python} PYTHON=$py OUT="$here/lib" JOBS=$(env -u OMP_NUM_THREADS nproc) PARTS=${PARTS:-4} sh build_shim.sh) >"$WORK/shim.log" 2>&1 ||
	{ tail -30 "$WORK/shim.log"; echo "gpu-check: shim build failed (log: $WORK/shim.log)"; exit 1; }
t1=$(date +%s)
echo "shim: built in $((t1 - t0)) s, $(wc -l <"$here/lib/stubs.txt") stubbed functions"
grep -E '^(TORCH_VERSION|TORCH_KIND|CUDA)=' "$here/lib/shim.env" | tr '\n' ' '; echo

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
tps=$(sed -n 's/^score: \(.*tokens\/s\).*/\1/p' "$WORK/score.log")
echo "score: $tps); peak GPU memory $peak"

if ! $py -c 'import transformers, peft' 2>/dev/null; then
	echo "parity, PyTorch loops, PEFT: skipped ($py has no transformers/peft)"
	exit 0
fi
gc="$py $here/gpu_check.py"
small_docs() { # FILE VOCAB: 8 random 256-token documents, the last 3/4 targets
	awk -v vocab="$2" 'BEGIN { srand(2); for (d = 0; d < 8; d++) { ids = ""; mask = ""
		for (t = 0; t < 256; t++) { ids = ids (t ? "," : "") int(rand() * vocab); mask = mask (t ? "," : "") (t >= 64) }
		printf "{\"id\":\"p%d\",\"input_ids\":[%s],\"loss_mask\":[%s]}\n", d, ids, mask } }' >"$1"
}
for dt in f32 bf16; do
	$gc make-model "$WORK/hf-$dt" small "$dt"
	small_docs "$WORK/parity.jsonl" 4096
	"$here/bin/score" --model "$WORK/hf-$dt" --device "$DEVICE" --dtype "$dt" --encoding jsonl -o "$WORK/parity-$dt.scores.jsonl" "$WORK/parity.jsonl" 2>/dev/null
	$gc parity "$WORK/hf-$dt" "$WORK/parity.jsonl" "$WORK/parity-$dt.scores.jsonl" "$dt"
done

# throughput on the checkpoint of section 2 (bf16), 1024-token documents
nparams=$(awk -F'[:,]' '/"hidden_size"/ { h = $2 } /"num_hidden_layers"/ { l = $2 } /"intermediate_size"/ { i = $2 } /"vocab_size"/ { v = $2 }
	END { print v * h + l * (4 * h * h + 3 * h * i) }' "$WORK/model/config.json")
train_run() { # NAME flags...
	name=$1
	shift
	rm -rf "$WORK/train-$name"
	if [ -n "${smi_ok:-}" ]; then nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 >"$WORK/mem-$name.log" & smi=$!; fi
	"$here/bin/train" --model "$WORK/model" --output "$WORK/train-$name" --device "$DEVICE" --epochs 1 "$@" "$WORK/tokens.jsonl" 2>"$WORK/train-$name.log" ||
		{ tail -5 "$WORK/train-$name.log"; return 1; }
	mem=n/a
	if [ -n "${smi_ok:-}" ]; then kill "$smi"; mem="$(sort -n "$WORK/mem-$name.log" | tail -1) MiB"; fi
	sed 's/.*"step_time":\([0-9.e-]*\).*"tokens_per_s":\([0-9.e+]*\).*/\1 \2/' "$WORK/train-$name/metrics.jsonl" |
		awk -v n="$name" -v p="$nparams" -v mem="$mem" '{ t += $1; k += $1 * $2 } END { printf "ytrain %s: %.0f tokens/s, peak %s, MFU %.1f%% (6·N·tokens/s)\n", n, k / t, mem, 100 * 6 * p * (k / t) / 989e12 }'
}
[ "$DEVICE" != cpu ] && command -v nvidia-smi >/dev/null && smi_ok=1
train_run fused --token-batch 0 --batch-size 8 --max-steps 6
train_run windowed --token-batch 10 --max-steps 30
$gc loop "$WORK/model" "$WORK/tokens.jsonl" fused 0 8
$gc loop "$WORK/model" "$WORK/tokens.jsonl" windowed 10 1

# PEFT: an adapter from train, loaded by peft, against train's merged model
"$here/bin/train" --model "$WORK/hf-f32" --output "$WORK/peft" --device "$DEVICE" --dtype f32 --token-batch 0 --batch-size 4 \
	--lr 1e-3 --max-steps 2 --merge "$WORK/parity.jsonl" 2>"$WORK/peft.log" || { tail -5 "$WORK/peft.log"; exit 1; }
$gc peft "$WORK/hf-f32" "$WORK/peft/final" "$WORK/peft/merged" "$WORK/parity.jsonl"
