#!/usr/bin/env bash
# Tokenizer throughput: internal/bpe (Go) next to HF tokenizers (Rust 0.22.2, through the
# npm binding @anush008/tokenizers 0.6.0), on the same ~4 MB corpus in the same run, with
# the ids of the two checked equal. Run from the repository root (make bench). Needs Go,
# Node 20+, the shared fixtures ($YTRAIN_SHARED, else ../shared) and, on the first run,
# the npm registry; everything it writes goes to bench/out (git-ignored).
#
# MB/s is the best of the warm passes (PASSES, default 4, the first one being cold).
# "1 thread" is GOMAXPROCS=1 with one goroutine for Go and TOKENIZERS_PARALLELISM=false
# for HF; "all cores" is one goroutine per core for Go and HF's default rayon pool.
# Exits 1 when any document's ids differ.
set -euo pipefail
cd "$(dirname "$0")/.."

shared=${YTRAIN_SHARED:-../shared}
out=bench/out
passes=${PASSES:-4}
mkdir -p "$out"

if [ ! -d "$out/node_modules/@anush008/tokenizers-linux-x64-gnu" ]; then
	npm install --prefix "$out" --no-save --no-audit --no-fund \
		@anush008/tokenizers@0.6.0 @anush008/tokenizers-linux-x64-gnu@0.6.0 >&2
fi
export NODE_PATH=$PWD/$out/node_modules

go build -o "$out/tokenize-bench" ./bench/tokenize
corpus=$out/corpus.jsonl
made=$("$out/tokenize-bench" -mkcorpus "$corpus" -shared "$shared" -goroot "$(go env GOROOT)")

# field NAME LINE: the value of NAME=value in a result line.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)
echo "corpus: $(field docs "$made") documents, $(field bytes "$made") bytes; $(nproc) cores, ${cpu:-unknown CPU}; MB/s"
printf '%-8s %12s %12s %12s %12s %10s %10s\n' tokenizer "Go 1-thread" "Go all-cores" "HF 1-thread" "HF default" "Go/HF 1t" "ids != HF"
bad=0
for tok in qwen3 llama3 gpt2; do
	json=$shared/tokenizers/$tok/tokenizer.json
	hfids=$out/hf.$tok.ids.jsonl
	hf1=$(TOKENIZERS_PARALLELISM=false node bench/tokenize/hf.js "$json" "$corpus" "$passes" "$hfids")
	go1=$(GOMAXPROCS=1 "$out/tokenize-bench" -tok "$json" -corpus "$corpus" -threads 1 -passes "$passes" -hf "$hfids")
	hfn=$(node bench/tokenize/hf.js "$json" "$corpus" "$passes")
	gon=$("$out/tokenize-bench" -tok "$json" -corpus "$corpus" -threads 0 -passes "$passes" -hf "$hfids")
	ratio=$(awk -v g="$(field mbps "$go1")" -v h="$(field mbps "$hf1")" 'BEGIN { printf "%.2fx", g / h }')
	miss=$(field mismatches "$go1")
	bad=$((bad + miss + $(field mismatches "$gon")))
	printf '%-8s %12s %12s %12s %12s %10s %10s\n' "$tok" "$(field mbps "$go1")" "$(field mbps "$gon")" \
		"$(field mbps "$hf1")" "$(field mbps "$hfn")" "$ratio" "$miss"
done
[ "$bad" -eq 0 ]
