#!/usr/bin/env bash
# make experiment: the runs of experiment/PLAN.md, each a demo/Makefile run
# (one output folder per noise level and seeds; one arm per method and lr),
# then tools/expreport's report: lr chosen on the validation split, bootstrap
# intervals clustered by fact, Holm-corrected tests of H1–H4, Pareto plots.
#
#   make experiment            the default grid (see below; under an hour on 2 cores)
#   make experiment FULL=1     PLAN.md's whole grid (about 12 hours on 2 cores)
#   make experiment FINAL=1    PLAN.md's revision 2: the final comparison
#                              (48 runs with curves, about an hour on 2 cores)
#   make experiment ARMS_SWEEP=1  revision 3: eaft, dft, trunc swept beside sft
#   METHODS= LRS= NOISES= DATA_SEEDS= INIT_SEEDS= EPOCHS= override either
#   make experiment MODEL=<HF folder> DATA=<SFT file> TEST=<questions with
#     "reference"> GENERAL=<held-out text> [GENERAL_MIX=<SFT file>] [DEVICE=cuda]:
#     the same arms on your model and data (accuracy by --match contains; no
#     fact kinds; sft-mix only with GENERAL_MIX)
#
# Finished runs are kept: a rerun only makes what is missing (make's file
# targets), so an interrupted experiment resumes.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-experiment/out}
REPORT_FLAGS=()
if [ -n "${FINAL:-}" ]; then
	# PLAN.md revision 2: each arm at its lr from rule 2 (the forgetting
	# budget on the default grid's validation runs), on data seeds the
	# selection never saw, noise 0 and 0.2, every run measured at each epoch
	OUT=${FINAL_OUT:-experiment/final}
	ARM_LRS=${ARM_LRS:-sft-lr1e-3 nlirg-lr5e-4 nlirg-auto-lr5e-4 sft-mix-lr1e-3}
	NOISES=${NOISES:-0 0.2}
	DATA_SEEDS=${DATA_SEEDS:-3 4 5}
	INIT_SEEDS=${INIT_SEEDS:-1 2}
	CURVE=1
	REPORT_FLAGS=(--final)
elif [ -n "${ARMS_SWEEP:-}" ]; then
	# PLAN.md's revision 3: the other weightings swept beside sft
	OUT=${ARMS_OUT:-experiment/arms}
	METHODS=${METHODS:-sft eaft dft trunc}
	LRS=${LRS:-5e-4 1e-3 2e-3 4e-3}
	NOISES=${NOISES:-0.2}
	DATA_SEEDS=${DATA_SEEDS:-1 2}
	INIT_SEEDS=${INIT_SEEDS:-1}
elif [ -n "${FULL:-}" ]; then
	METHODS=${METHODS:-sft nlirg nlirg-auto nlirg-win eaft dft trunc sft-mix}
	LRS=${LRS:-5e-4 1e-3 2e-3 4e-3}
	NOISES=${NOISES:-0 0.2}
	DATA_SEEDS=${DATA_SEEDS:-1 2 3}
	INIT_SEEDS=${INIT_SEEDS:-1 2}
else
	METHODS=${METHODS:-sft nlirg nlirg-auto sft-mix}
	LRS=${LRS:-5e-4 1e-3 2e-3 4e-3}
	NOISES=${NOISES:-0.2}
	DATA_SEEDS=${DATA_SEEDS:-1 2}
	INIT_SEEDS=${INIT_SEEDS:-1}
fi
user=()
if [ -n "${MODEL:-}" ]; then
	: "${DATA:?MODEL= needs DATA=<SFT file>}" "${TEST:?MODEL= needs TEST=<questions>}" "${GENERAL:?MODEL= needs GENERAL=<held-out text>}"
	user=(BASE="$(realpath "$MODEL")" TRAIN="$(realpath "$DATA")" TEST="$(realpath "$TEST")" GENERAL="$(realpath "$GENERAL")" DEVICE="${DEVICE:-cpu}")
	# sft-mix's general instruction records; without them demo/Makefile skips its arms
	[ -z "${GENERAL_MIX:-}" ] || user+=(GENERAL_MIX="$(realpath "$GENERAL_MIX")")
	NOISES=user DATA_SEEDS=1
fi
arms=${ARM_LRS:-}
if [ -z "$arms" ]; then
	for m in $METHODS; do
		for lr in $LRS; do arms="$arms $m-lr$lr"; done
	done
fi
for noise in $NOISES; do
	for d in $DATA_SEEDS; do
		for i in $INIT_SEEDS; do
			printf '\n== noise %s, data seed %s, init seed %s: %s\n' "$noise" "$d" "$i" "$arms" >&2
			# one libtorch thread per arm, two arms at a time: tiny models use
			# a core each better than two threads each
			make -C demo --no-print-directory -j"${JOBS:-2}" results THREADS="${THREADS:-1}" \
				OUT="$PWD/$OUT/runs/n$noise-d$d-i$i" SEED="$d" INIT="$i" NOISE="$noise" ARMS="$arms" \
				${EPOCHS:+EPOCHS=$EPOCHS} ${CURVE:+CURVE=$CURVE} "${user[@]}"
		done
	done
done
go run ./tools/expreport --resample-seeds "${REPORT_FLAGS[@]}" -o "$OUT" "$OUT/runs"
echo "experiment: report in $OUT/report.md" >&2
