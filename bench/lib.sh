# Sourced by bench/score.sh, bench/train.sh and bench/longctx.sh: ytrain's
# tools (bin/, make build) run on the default libtorch, pip's torch 2.11
# (build/shim), and their peers on the same torch in build/venv (make venv;
# make bench makes both). One thread count for both sides: THREADS (default 1).
cd "$(dirname "$0")/.."
PY=$PWD/build/venv/bin/python
for f in "$PY" build/shim/libgotch_tch.so bin/score bin/train; do
	[ -e "$f" ] || { echo "$0: $f missing: run make build venv (or make bench)" >&2; exit 1; }
done
THREADS=${THREADS:-1} REPS=${REPS:-3}
export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
export HF_HUB_OFFLINE=1 HF_HUB_DISABLE_PROGRESS_BARS=1 HF_DATASETS_DISABLE_PROGRESS_BARS=1 TRANSFORMERS_VERBOSITY=error \
	TOKENIZERS_PARALLELISM=false PYTHONWARNINGS=ignore
peers() { "$PY" bench/py/peers.py "$@"; }
# field NAME LINE: the value of NAME=value in a key=value line
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }
# ratios FILE: FILE holds one "ytrain peer" pair per interleaved rep; prints
# the best of each side, the ratio of the bests, and the spread (min–max)
# of the reps' own ratios
ratios() {
	awk '{ r = $1 / $2; if (NR == 1 || $1 > a) a = $1; if (NR == 1 || $2 > b) b = $2
		if (NR == 1 || r < lo) lo = r; if (NR == 1 || r > hi) hi = r }
		END { printf "%10.1f %10.1f %7.2fx  (reps %.2f-%.2fx, n=%d)\n", a, b, a / b, lo, hi, NR }' "$1"
}
# peak RSS (MB) of a command, from /usr/bin/time, into the file $rss
peak() { /usr/bin/time -f %M -o "$rss" "$@" && awk '{ $1 = int($1 / 1024) } 1' "$rss" > "$rss.mb" && mv "$rss.mb" "$rss"; }
# real_records OUT N: N chat records of tools/realworld's domain (its dry
# run, ~90 tokens each) tokenized with $MODEL's tokenizer into the token
# JSONL both sides read; the real model's benchmarks train and score these
real_records() {
	local dir=bench/out/realworld
	[ -f "$dir/domain.train.jsonl" ] || go run ./tools/realworld --unfiltered --facts-per-kind 23 -o "$dir" > /dev/null 2>&1
	bin/tokenize --tokenizer "$MODEL" --encoding jsonl -o "$dir/tokens.jsonl" "$dir/domain.train.jsonl" 2> /dev/null
	awk -v n="$2" 'NR <= n' "$dir/tokens.jsonl" > "$1"
}
# bench_model NAME VOCAB: sets out and model. With MODEL= (a real HF
# folder: make bench gives make smollm2's) out is bench/out/NAME-<folder>,
# and a missing model ends the script with a line; without, out is
# bench/out/NAME and model a random Qwen3 of VOCAB made there
bench_model() {
	if [ -n "${MODEL:-}" ]; then
		if [ ! -f "$MODEL/model.safetensors" ]; then
			echo "$1: skipped on $MODEL: not fetched (make smollm2)"
			exit 0
		fi
		out=bench/out/$1-$(basename "$MODEL") model=$MODEL
		mkdir -p "$out"
	else
		out=bench/out/$1 model=bench/out/$1/model
		mkdir -p "$out"
		peers make-model "$model" "$2" "${HIDDEN:-256}" "${LAYERS:-4}" >/dev/null
	fi
}
