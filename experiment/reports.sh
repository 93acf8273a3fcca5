#!/usr/bin/env bash
# experiment/reports.sh: the committed reports of experiment/results/ and
# the rows they are made from (experiment/results/README.md).
#
#   check       make experiment-reports: each stage folder that holds its
#               rows (runs.tar.gz, expreport --pack's archive) has its
#               report made again from them with its expreport.flags, no
#               training, into build/experiment/reports/STAGE/, and compared
#               byte for byte with the committed files; exits 1 on any
#               difference (diff -r the two folders). Folders without rows
#               are named: their runs are gone, so their reports cannot be.
#   save STAGE  make experiment-save STAGE=NAME: a finished stage's runs
#               (build/experiment/STAGE/runs, make experiment's output) packed
#               into experiment/results/STAGE/runs.tar.gz, and its report made
#               there from that archive (so it names the committed rows, and
#               check makes the same bytes); then git add and commit it.
set -euo pipefail
cd "$(dirname "$0")/.."
results=experiment/results
bin=bin/expreport # bin/: this checkout's tools, gitignored
mkdir -p bin
go build -o "$bin" ./tools/expreport

# made STAGE_DIR OUT: the report of STAGE_DIR's rows into OUT
made() {
	local flags
	read -r -a flags <"$1/expreport.flags"
	"$bin" "${flags[@]}" -o "$2" "$1/runs.tar.gz"
}

case ${1:-} in
check)
	bad=0
	for dir in "$results"/*/; do
		dir=${dir%/} stage=${dir##*/}
		if [ ! -f "$dir/runs.tar.gz" ]; then
			echo "reports.sh: $stage: rows not committed (its runs are gone): not made again" >&2
			continue
		fi
		out=build/experiment/reports/$stage same=1
		rm -rf "$out"
		made "$dir" "$out" 2>/dev/null
		for f in "$out"/*; do
			if ! cmp -s "$f" "$dir/${f##*/}"; then
				echo "reports.sh: $stage: ${f##*/} made again differs from the committed one (diff $out $dir)" >&2
				same=0
			fi
		done
		for f in "$dir"/*; do
			case ${f##*/} in runs.tar.gz | expreport.flags) continue ;; esac
			if [ ! -e "$out/${f##*/}" ]; then
				echo "reports.sh: $stage: ${f##*/} is committed but the report no longer makes it" >&2
				same=0
			fi
		done
		if [ $same = 1 ]; then
			echo "reports.sh: $stage: made again byte for byte" >&2
		else
			bad=1
		fi
	done
	exit $bad
	;;
save)
	stage=${2:?usage: reports.sh save STAGE}
	src=build/experiment/$stage dir=$results/$stage
	[ -d "$src/runs" ] && [ -f "$src/expreport.flags" ] || {
		echo "reports.sh: $src: no runs or expreport.flags (make experiment STAGE=$stage makes them)" >&2
		exit 1
	}
	mkdir -p "$dir"
	"$bin" --pack "$dir/runs.tar.gz" "$src/runs"
	cp "$src/expreport.flags" "$dir/"
	# the old report's files go: a plot the new one does not draw would stay
	find "$dir" -maxdepth 1 -type f ! -name runs.tar.gz ! -name expreport.flags -delete
	made "$dir" "$dir"
	git status --short -- "$dir"
	echo "reports.sh: $dir: rows and report; git add $dir and commit, saying what changed" >&2
	;;
*)
	echo "usage: experiment/reports.sh check | save STAGE" >&2
	exit 2
	;;
esac
