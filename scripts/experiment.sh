#!/usr/bin/env bash
# make experiment: does NLIRG cut repetition, over-fitting and forgetting
# without mixing in general data? The same SFT data is trained by each arm,
# at each noise level, with each seed; each run is measured on held-out
# domain questions (accuracy, seq-rep-4, distinct-2) and on held-out general
# text (loss increase over the base model = forgetting). The report, with
# mean ± spread over seeds and PNG charts, goes to experiment/out.
#
# Bundled defaults (tiny model, generated data) run in under 30 minutes on 2
# cores. A real case: make experiment MODEL=<hf folder> DATA=<sft file>
# GENERAL=<held-out text> TEST=<questions with references> DEVICE=cuda
# (TEST defaults to DATA's own prompts; GENERAL is needed for forgetting).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/bin
OUT=${OUT:-experiment/out}
SEEDS=${SEEDS:-1 2 3}
ARMS=${ARMS:-sft nlirg-windowed nlirg-fused dft eaft sft-mix}
EPOCHS=${EPOCHS:-1} LR=${LR:-1e-2} DEVICE=${DEVICE:-cpu} MAXNEW=${MAXNEW:-40}
# noise levels run side by side, one libtorch thread each: small models use
# one core better than two threads do
JOBS=${JOBS:-2} THREADS=${THREADS:-1} RECORDS=${RECORDS:-600}
mkdir -p "$OUT/runs"

if [ -z "${MODEL:-}" ]; then # bundled: the demo's base model and data, two noise levels
	D=${DEMO_DIR:-build/demo}
	DEMO_DIR=$D bash scripts/demo-base.sh
	MODEL=$D/base
	levels="0 0.2"
	data_for() { # the first RECORDS records, to fit the 30-minute budget
		head -n "$RECORDS" "$D/data-$1/domain.train.jsonl" > "$OUT/work/domain-$1.jsonl"
		echo "$OUT/work/domain-$1.jsonl"
	}
	GENERAL=${GENERAL:-$D/data/general.heldout.txt}
	GENERAL_TRAIN=$D/data/general.train.txt
	test_for() { echo "$D/data-$1/domain.test.jsonl"; }
else
	: "${DATA:?make experiment MODEL=... needs DATA=<sft file>}"
	levels="user"
	data_for() { echo "$DATA"; }
	test_for() { echo "${TEST:-$DATA}"; }
	GENERAL_TRAIN=${GENERAL_MIX:-${GENERAL:-}}
fi
log() { printf '\n== %s\n' "$*" >&2; }

# arm NAME → train flags (every arm: LoRA, the same data, epochs and lr)
arm_flags() {
	case $1 in
	sft) echo "--weighting none --token-batch 0 --batch-size 8" ;;
	# windowed takes an optimizer step per 10 answer tokens, ~24x the steps of
	# fused on the bundled data: at the fused lr it diverges, so its lr is
	# scaled down by about that ratio
	nlirg-windowed) echo "--weighting nlirg --token-batch 10 --lr ${LR_WINDOWED:-5e-4}" ;;
	nlirg-fused) echo "--weighting nlirg --token-batch 0 --batch-size 8" ;;
	dft) echo "--weighting dft --token-batch 0 --batch-size 8" ;;
	eaft) echo "--weighting eaft --token-batch 0 --batch-size 8" ;;
	sft-mix) echo "--weighting none --token-batch 0 --batch-size 8 --shuffle" ;; # + general text mixed in
	*) echo "experiment: unknown arm $1" >&2; exit 2 ;;
	esac
}

W=$OUT/work
mkdir -p "$W"
T="--threads $THREADS"
if [ -n "${GENERAL:-}" ]; then
	"$bin/tokenize" --tokenizer "$MODEL" --kind cpt -o "$W/heldout.arrow" "$GENERAL"
	"$bin/score" --model "$MODEL" --device "$DEVICE" $T -o "$W/base.heldout.arrow" "$W/heldout.arrow"
fi
level_runs() { # LEVEL
	local level=$1
	"$bin/tokenize" --tokenizer "$MODEL" -o "$W/domain-$level.arrow" "$(data_for "$level")"
	if [ -n "${GENERAL_TRAIN:-}" ]; then # sft-mix: about a third as many general documents
		n=$(wc -l < "$(data_for "$level")")
		head -n $((n / 3)) "$GENERAL_TRAIN" > "$W/mix-$level.txt"
		"$bin/tokenize" --tokenizer "$MODEL" --kind cpt -o "$W/general-mix-$level.arrow" "$W/mix-$level.txt"
	fi
	base_dir=$OUT/runs/$level/base
	mkdir -p "$base_dir"
	"$bin/generate" --model "$MODEL" --device "$DEVICE" $T --max-new-tokens "$MAXNEW" --batch-size 16 -o "$base_dir/answers.jsonl" "$(test_for "$level")"
	"$bin/evaluate" --match contains --normalize --max-new-tokens "$MAXNEW" ${GENERAL:+--scores "$W/base.heldout.arrow"} "$base_dir/answers.jsonl" > "$base_dir/eval.json"
	for arm in $ARMS; do
		for seed in $SEEDS; do
			run=$OUT/runs/$level/$arm/seed$seed
			[ -f "$run/eval.json" ] && continue # finished earlier: the harness resumes
			log "noise $level, $arm, seed $seed"
			rm -rf "$run" && mkdir -p "$run"
			data=("$W/domain-$level.arrow")
			[ "$arm" = sft-mix ] && [ -n "${GENERAL_TRAIN:-}" ] && data+=("$W/general-mix-$level.arrow")
			t0=$(date +%s.%N)
			# shellcheck disable=SC2046
			"$bin/train" --model "$MODEL" --output "$run/train" --device "$DEVICE" $T --epochs "$EPOCHS" --lr "$LR" \
				--lora-dropout 0.05 --seed "$seed" --merge --log-every 1000 $(arm_flags "$arm") "${data[@]}" 2> "$run/train.log"
			t1=$(date +%s.%N)
			awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", b - a }' > "$run/train_seconds"
			"$bin/generate" --model "$run/train/merged" --device "$DEVICE" $T --max-new-tokens "$MAXNEW" --batch-size 16 \
				-o "$run/answers.jsonl" "$(test_for "$level")" 2> /dev/null
			if [ -n "${GENERAL:-}" ]; then
				"$bin/score" --model "$run/train/merged" --device "$DEVICE" $T -o "$run/heldout.arrow" "$W/heldout.arrow" 2> /dev/null
			fi
			"$bin/evaluate" --match contains --normalize --max-new-tokens "$MAXNEW" ${GENERAL:+--scores "$run/heldout.arrow"} \
				"$run/answers.jsonl" > "$run/eval.json"
			rm -rf "$run/train/merged" "$run/train"/checkpoint-* "$run/heldout.arrow" # keep the log, adapter and metrics
		done
	done
}
for level in $levels; do
	level_runs "$level" &
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
done
wait
go run ./tools/expreport -o "$OUT" "$OUT/runs"
echo "experiment: report in $OUT/report.md, charts in $OUT/*.png" >&2
