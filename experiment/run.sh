#!/usr/bin/env bash
# make experiment: the runs of experiment/PLAN.md, each a demo/Makefile run
# (one output folder per noise level and seeds; one arm per method and lr),
# then tools/expreport's report: lr chosen on the validation split, bootstrap
# intervals clustered by fact, Holm-corrected tests of H1–H4, Pareto plots.
#
#   make experiment [STAGE=NAME]   one stage of PLAN.md, named for what it
#     compares (experiment/results/README.md has each one's runs and time):
#     lr-sweep              revision 1, the default grid (under an hour on 2 cores)
#     final-comparison      revision 2 (or FINAL=1): the final comparison
#                           (48 runs with curves, 36–60 min on 2 cores)
#     other-weightings      revision 3 (or ARMS_SWEEP=1): eaft, dft, trunc beside sft
#     windowed-nlirg-sweep  revision 4: nlirg-win's lr sweep beside sft
#     windowed-nlirg-final  revision 5: nlirg-win on the final comparison's seeds
#     windowed-sft-sweep    revision 6: sft-win, nlirg-win's control, swept
#     windowed-sft-final    revision 7: sft-win on the final comparison's seeds
#     full-grid             (or FULL=1) PLAN.md's whole grid (about 12 hours on 2 cores)
#   experiment/PLAN-real.md, SmolLM2-135M-Instruct (make smollm2) on tools/realworld:
#     real-sweep-a          the seed's control pair (sft-win, nlirg-win), 3 lrs each
#     real-final-a          the pair on data seeds 3-5 x init 1-2 x noise 0, 0.4 (ARM_LRS= from the sweep)
#     real-sweep-b          fused sft, nlirg and sft-b1, 3 lrs each
#     real-final-b          those at their lrs on the final seeds (ARM_LRS=)
#   METHODS= LRS= (or ARM_LRS=) NOISES= DATA_SEEDS= INIT_SEEDS= EPOCHS= override a stage's grid
#   make experiment MODEL=<HF folder> DATA=<SFT file> TEST=<questions with
#     "reference"> GENERAL=<held-out text> [GENERAL_MIX=<SFT file>] [DEVICE=cuda]:
#     the same arms on your model and data (accuracy by --match contains; no
#     fact kinds; sft-mix only with GENERAL_MIX)
#
# Output: build/experiment/STAGE/ (OUT= elsewhere): runs/ and the report. The
# committed experiment/results/STAGE/ is never written here: `make
# experiment-save STAGE=NAME` puts a finished stage's rows and its report
# there (experiment/reports.sh).
#
# Finished runs are kept: a rerun only makes what is missing (make's file
# targets), so an interrupted experiment resumes. Where PLAN.md pairs a stage
# with another's runs, they are copied from build/experiment/<that stage>
# when it has them (training and decoding are deterministic), else run.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${STAGE:-}" ]; then
	STAGE=lr-sweep
	[ -n "${FULL:-}" ] && STAGE=full-grid
	[ -n "${ARMS_SWEEP:-}" ] && STAGE=other-weightings
	[ -n "${FINAL:-}" ] && STAGE=final-comparison
fi
# the old stage knobs' output folders (FINAL_OUT=, ARMS_OUT=) still name OUT
OUT=${OUT:-${FINAL_OUT:-${ARMS_OUT:-build/experiment/$STAGE${MODEL:+-own-model}}}}
FINAL=
REUSE=() # "STAGE ARM..." : arms copied from that stage's runs
# experiment/PLAN-real.md: demo/Makefile's REAL world at the plan's size (revision 1's
# fallback: the base states facts of 46 countries, so 23 facts per kind),
# every question set rule 2 and the report read
real() {
	EPOCHS=${EPOCHS:-3}
	# RESUME: a windowed run takes about 2.7 h, so each continues from its
	# newest checkpoint in the next session
	user=(RESUME=1 KL=1 REAL=1 FACTS=23 RECORDS=5 TEST_PER_FACT=3 "REAL_SETS=domain.test domain.val general.test general.val domain.trainq")
}
user=()
# the default grid's sweep: 4 lrs × noise 0.2 × data seeds 1, 2 × init seed 1
sweep() {
	LRS=${LRS:-5e-4 1e-3 2e-3 4e-3}
	NOISES=${NOISES:-0.2}
	DATA_SEEDS=${DATA_SEEDS:-1 2}
	INIT_SEEDS=${INIT_SEEDS:-1}
}
# revision 2's unseen seeds, every run measured at each epoch end
final() {
	FINAL=1
	NOISES=${NOISES:-0 0.2}
	DATA_SEEDS=${DATA_SEEDS:-3 4 5}
	INIT_SEEDS=${INIT_SEEDS:-1 2}
	CURVE=1
}
win_lrs="1.25e-4 2.5e-4 5e-4 1e-3" # revisions 4, 6: windows take many more steps, so lower lrs
case $STAGE in
lr-sweep)
	METHODS=${METHODS:-sft nlirg nlirg-auto sft-mix}
	sweep ;;
final-comparison)
	# each arm at its lr from rule 2 on lr-sweep's validation runs
	ARM_LRS=${ARM_LRS:-sft-lr1e-3 nlirg-lr5e-4 nlirg-auto-lr5e-4 sft-mix-lr1e-3}
	final ;;
other-weightings)
	METHODS=${METHODS:-sft eaft dft trunc}
	sweep
	REUSE=("lr-sweep $(for lr in $LRS; do printf 'sft-lr%s ' "$lr"; done)") ;;
windowed-nlirg-sweep)
	ARM_LRS=${ARM_LRS:-sft-lr1e-3 $(for lr in $win_lrs; do printf 'nlirg-win-lr%s ' "$lr"; done)}
	sweep
	REUSE=("lr-sweep sft-lr1e-3") ;;
windowed-nlirg-final)
	ARM_LRS=${ARM_LRS:-sft-lr1e-3 nlirg-win-lr2.5e-4}
	final
	REUSE=("final-comparison sft-lr1e-3") ;;
windowed-sft-sweep)
	ARM_LRS=${ARM_LRS:-sft-lr1e-3 $(for lr in $win_lrs; do printf 'nlirg-win-lr%s sft-win-lr%s ' "$lr" "$lr"; done)}
	sweep
	REUSE=("windowed-nlirg-sweep sft-lr1e-3 $(for lr in $win_lrs; do printf 'nlirg-win-lr%s ' "$lr"; done)") ;;
windowed-sft-final)
	ARM_LRS=${ARM_LRS:-sft-lr1e-3 nlirg-win-lr2.5e-4 sft-win-lr2.5e-4}
	final
	REUSE=("final-comparison sft-lr1e-3" "windowed-nlirg-final nlirg-win-lr2.5e-4") ;;
real-sweep-a)
	ARM_LRS=${ARM_LRS:-$(for lr in 3e-5 1e-4 3e-4; do printf 'sft-win-lr%s nlirg-win-lr%s ' "$lr" "$lr"; done)}
	real; NOISES=${NOISES:-0.2} DATA_SEEDS=${DATA_SEEDS:-1} INIT_SEEDS=${INIT_SEEDS:-1} ;;
real-sweep-b)
	ARM_LRS=${ARM_LRS:-$(for lr in 3e-4 1e-3 3e-3; do printf 'sft-lr%s nlirg-lr%s ' "$lr" "$lr"; done) sft-b1-lr1e-4 sft-b1-lr3e-4 sft-b1-lr1e-3}
	real; NOISES=${NOISES:-0.2} DATA_SEEDS=${DATA_SEEDS:-1} INIT_SEEDS=${INIT_SEEDS:-1} ;;
real-final-a | real-final-b)
	: "${ARM_LRS:?$STAGE: ARM_LRS= the arms at the lrs rule 2 chose on its sweep (experiment/PLAN-real.md)}"
	real; NOISES=${NOISES:-0 0.4} DATA_SEEDS=${DATA_SEEDS:-3 4 5} INIT_SEEDS=${INIT_SEEDS:-1 2} ;;
full-grid)
	METHODS=${METHODS:-sft nlirg nlirg-auto nlirg-win eaft dft trunc sft-mix}
	LRS=${LRS:-5e-4 1e-3 2e-3 4e-3}
	NOISES=${NOISES:-0 0.2}
	DATA_SEEDS=${DATA_SEEDS:-1 2 3}
	INIT_SEEDS=${INIT_SEEDS:-1 2} ;;
*)
	echo "run.sh: STAGE=$STAGE: want lr-sweep, final-comparison, other-weightings, windowed-nlirg-sweep, windowed-nlirg-final, windowed-sft-sweep, windowed-sft-final or full-grid" >&2
	exit 2 ;;
esac
# the report's flags, kept with the runs: experiment/reports.sh save commits
# them beside the report, so it can be made again the same way
REPORT_FLAGS=(--resample-seeds ${FINAL:+--final})
if [ -n "${MODEL:-}" ]; then
	: "${DATA:?MODEL= needs DATA=<SFT file>}" "${TEST:?MODEL= needs TEST=<questions>}" "${GENERAL:?MODEL= needs GENERAL=<held-out text>}"
	user=(BASE="$(realpath "$MODEL")" TRAIN="$(realpath "$DATA")" TEST="$(realpath "$TEST")" GENERAL="$(realpath "$GENERAL")" DEVICE="${DEVICE:-cpu}")
	# sft-mix's general instruction records; without them demo/Makefile skips its arms
	[ -z "${GENERAL_MIX:-}" ] || user+=(GENERAL_MIX="$(realpath "$GENERAL_MIX")")
	NOISES=user DATA_SEEDS=1 REUSE=()
fi
arms=${ARM_LRS:-}
if [ -z "$arms" ]; then
	for m in $METHODS; do
		for lr in $LRS; do arms="$arms $m-lr$lr"; done
	done
fi
# reuse RUN "STAGE ARM...": seed this stage's run folder RUN from that
# stage's, if it has one: its data, tokens, base and the named arms, times
# kept, so make finds those arms made and only trains the others
reuse() {
	local run=$1 from arm f name
	read -r from arm <<<"$2"
	local src=build/experiment/$from/runs/$run
	[ -d "$src" ] || return 0
	mkdir -p "$OUT/runs/$run"
	for f in "$src"/*; do
		name=${f##*/}
		if [ -d "$f" ] && [ "$name" != data ] && [ "$name" != base ] && [[ " $arm " != *" $name "* ]]; then
			continue
		fi
		[ -e "$OUT/runs/$run/$name" ] || cp -a "$f" "$OUT/runs/$run/"
	done
}
for noise in $NOISES; do
	for d in $DATA_SEEDS; do
		for i in $INIT_SEEDS; do
			for r in "${REUSE[@]}"; do reuse "n$noise-d$d-i$i" "$r"; done
			printf '\n== %s: noise %s, data seed %s, init seed %s: %s\n' "$STAGE" "$noise" "$d" "$i" "$arms" >&2
			# one libtorch thread per arm, two arms at a time: tiny models use
			# a core each better than two threads each
			make -C demo --no-print-directory -j"${JOBS:-2}" results THREADS="${THREADS:-1}" \
				OUT="$PWD/$OUT/runs/n$noise-d$d-i$i" SEED="$d" INIT="$i" NOISE="$noise" ARMS="$arms" \
				${EPOCHS:+EPOCHS=$EPOCHS} ${CURVE:+CURVE=$CURVE} "${user[@]}"
		done
	done
done
if [[ $STAGE == real-* ]]; then
	# expreport does not read the real world's measures yet (general sets by
	# meta.set, KL, noise by type): the runs' rows are what this stage leaves
	echo "experiment: $STAGE's runs are in $OUT/runs; its report is not made yet (tools/expreport has no real-model measures)" >&2
	exit 0
fi
mkdir -p "$OUT" && echo "${REPORT_FLAGS[*]}" >"$OUT/expreport.flags"
go run ./tools/expreport "${REPORT_FLAGS[@]}" -o "$OUT" "$OUT/runs"
echo "experiment: report in $OUT/report.md; make experiment-save STAGE=$STAGE commits it with its rows" >&2
