#!/bin/sh
# build_shim.sh - build libgotch_tch.so, gotch's C API (torch_api.cpp +
# torch_api_generated.cpp.h), ytrain's c10d wrapper (dist_api.cpp: TCPStore,
# ProcessGroupGloo, ProcessGroupNCCL where the libtorch has CUDA) and the
# ops gotch's API lacks (ops_api.cpp), against whichever libtorch is installed.
#
# Go binaries link only this library (see libtorch/gotchpatch), so changing
# libtorch means rebuilding just this, with no Go toolchain. Every wrapper
# that does not compile against this libtorch gets a body that throws inside
# PROTECT(...) (stub.awk): all C symbols stay, and calling a stubbed op
# returns a Go error "gotch shim: atg_xxx is not available in libtorch X.Y.Z".
#
# Needs only sh, g++, awk, sed, xargs, coreutils, nm. Runs from the repo
# (libtorch/shim/) or from a dist/shim-src/ that has the C++ sources beside it.
#
# Environment (all optional):
#   LIBTORCH   libtorch root (has include/ and lib/), "python" for the torch
#              package of $PYTHON, "system" for Debian's libtorch-dev.
#              Unset: Debian's libtorch-dev, else python. (make passes
#              build/libtorch, pip's wheel unpacked, unless told otherwise.)
#   PYTHON     interpreter for LIBTORCH=python (default python3)
#   GOTCH_CSRC dir with torch_api.cpp, torch_api_generated.cpp.h, stb_*.h;
#              torch_api.h and torch_api_generated.h there or in its parent.
#              Default: this script's dir if the sources are beside it, else
#              the repo's build/gotch/libtch/csrc.
#   OUT        output dir: gets libgotch_tch.so, stubs.txt, shim.env.
#              Default: ../lib beside dist sources, else the repo's build/shim.
#   STUBS      stub list to pre-apply, which skips the failing first compile
#              (new failures are still found). Default "auto": the cached
#              stubs-libtorch-VERSION.txt beside this script, if any; "none".
#   OPT        optimisation flags (default -O1: the work is inside libtorch,
#              and -O2 only costs build time)
#   JOBS       parallel compiles (default nproc)
#   PARTS      translation units the generated code is split into (default 1;
#              each TU re-parses the torch headers, ~11 s, so more parts only
#              pay off with many cores)
#   CXXSTD     C++ standard (default c++17, c++20 if the torch headers demand it)
#   CXX        C++ compiler (default g++)
#   CUDA       auto|0|1: link libtorch_cuda/libc10_cuda (auto: if present)
#   NCCL       auto|0|1: compile dist_api.cpp's ProcessGroupNCCL (auto: when
#              CUDA=1 and the CUDA and NCCL headers compile; they are looked
#              for under CUDA_HOME, /usr/local/cuda and the wheel's nvidia/)
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SELF="$HERE/$(basename "$0")"
CXX=${CXX:-g++}

# ---------------------------------------------------------------- sub-command
# __compile SRC OBJ: compile one TU, stubbing failing functions until it compiles
if [ "${1:-}" = __compile ]; then
  src=$2; obj=$3; log="$src.log"; base=$(basename "$src")
  if [ "$base" = dist_api.cpp ]; then
    # ours: never stubbed. NCCL=auto tries the CUDA headers and falls back
    # to gloo alone when they are missing (pip wheels ship nccl.h but not
    # all of the CUDA toolkit's headers that ATen/cuda includes).
    # shellcheck disable=SC2086
    if [ -n "$SHIM_NCCL_FLAGS" ]; then
      if $CXX $SHIM_CXXFLAGS $SHIM_DIST_FLAGS $SHIM_NCCL_FLAGS -c "$src" -o "$obj" 2> "$log"; then
        echo nccl > "$src.backends"; exit 0
      fi
      if [ "$SHIM_NCCL" = 1 ]; then
        echo "build_shim: dist_api.cpp does not compile with NCCL=1:" >&2; grep -m 20 error "$log" >&2; exit 1
      fi
      echo "build_shim: dist_api.cpp: no ProcessGroupNCCL (CUDA headers incomplete: $(grep -m 1 error "$log"))" >&2
    fi
    # shellcheck disable=SC2086
    $CXX $SHIM_CXXFLAGS $SHIM_DIST_FLAGS -c "$src" -o "$obj" 2> "$log" ||
      { echo "build_shim: dist_api.cpp does not compile:" >&2; grep -m 20 error "$log" >&2; exit 1; }
    exit 0
  fi
  if [ "$base" = ops_api.cpp ]; then # ours: never stubbed (it guards on the version itself)
    # shellcheck disable=SC2086
    $CXX $SHIM_CXXFLAGS -c "$src" -o "$obj" 2> "$log" ||
      { echo "build_shim: ops_api.cpp does not compile:" >&2; grep -m 20 error "$log" >&2; exit 1; }
    exit 0
  fi
  i=0
  # shellcheck disable=SC2086
  while ! $CXX $SHIM_CXXFLAGS -c "$src" -o "$obj" 2> "$log"; do
    i=$((i + 1))
    if [ $i -gt 5 ]; then
      echo "build_shim: $base still fails after $((i - 1)) stub rounds:" >&2
      grep -m 20 error "$log" >&2; exit 1
    fi
    if ! awk -v base="$base" -v stublog="$src.stubs" -v ver="$SHIM_TORCH_VERSION" \
        -f "$HERE/stub.awk" "$log" "$src" > "$src.new"; then
      echo "build_shim: $base has errors that cannot be stubbed:" >&2
      grep -m 30 error "$log" >&2; exit 1
    fi
    mv "$src.new" "$src"
    echo "build_shim: $base: round $i, $(wc -l < "$src.stubs") function(s) stubbed so far" >&2
  done
  exit 0
fi

# ---------------------------------------------------------------- locate libtorch
MULTIARCH=$($CXX -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
PYTHON=${PYTHON:-python3}
if [ "${LIBTORCH:-}" = system ]; then
  [ -d /usr/include/torch/csrc/api/include ] ||
    { echo "build_shim: LIBTORCH=system: Debian's libtorch-dev is not installed (make deps LIBTORCH=system)" >&2; exit 1; }
  TORCH_ROOT=/usr; KIND=system
elif [ -n "${LIBTORCH:-}" ] && [ "$LIBTORCH" != python ]; then
  TORCH_ROOT=$(cd "$LIBTORCH" && pwd); KIND=libtorch
elif [ "${LIBTORCH:-}" = python ] || ! [ -d /usr/include/torch/csrc/api/include ]; then
  TORCH_ROOT=$("$PYTHON" -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null) ||
    { echo "build_shim: no libtorch found: install libtorch-dev, or set LIBTORCH" >&2; exit 1; }
  KIND=python
else
  TORCH_ROOT=/usr; KIND=system
fi
if [ $KIND = system ]; then
  TORCH_INC="-I/usr/include/torch/csrc/api/include"
  TORCH_LIB="/usr/lib/$MULTIARCH"
else
  TORCH_INC="-I$TORCH_ROOT/include -I$TORCH_ROOT/include/torch/csrc/api/include"
  TORCH_LIB="$TORCH_ROOT/lib"
fi
# torch/version.h; since 2.10 it only includes torch/headeronly/version.h
VERSION_H=""
for d in $TORCH_INC; do
  for f in "${d#-I}/torch/headeronly/version.h" "${d#-I}/torch/version.h"; do
    [ -f "$f" ] && grep -q 'define TORCH_VERSION' "$f" && VERSION_H=$f && break 2
  done
done
[ -n "$VERSION_H" ] || { echo "build_shim: torch/version.h not found under $TORCH_INC" >&2; exit 1; }
# since 2.9 or so it only includes torch/headeronly/version.h
for d in $TORCH_INC; do
  f="${d#-I}/torch/headeronly/version.h"
  grep -q 'torch/headeronly/version.h' "$VERSION_H" && [ -f "$f" ] && VERSION_H=$f && break
done
# the string define spans two lines; the MAJOR.MINOR.PATCH defines are older
TORCH_VERSION=$(grep -o '"[0-9][0-9A-Za-z.+_-]*"' "$VERSION_H" | head -1 | tr -d '"')
[ -n "$TORCH_VERSION" ] || TORCH_VERSION=$(awk '/define TORCH_VERSION_(MAJOR|MINOR|PATCH) /{printf "%s%s", s, $3; s="."}' "$VERSION_H")
[ -f "$TORCH_LIB/libtorch_cpu.so" ] || { echo "build_shim: $TORCH_LIB/libtorch_cpu.so missing" >&2; exit 1; }

# C++ ABI: from TorchConfig.cmake, else from libc10's symbols
ABI=""
for c in "$TORCH_ROOT/share/cmake/Torch/TorchConfig.cmake" "$TORCH_LIB/cmake/Torch/TorchConfig.cmake"; do
  [ -f "$c" ] && ABI=$(sed -n 's/.*_GLIBCXX_USE_CXX11_ABI=\([01]\).*/\1/p' "$c" | head -1) && [ -n "$ABI" ] && break
done
if [ -z "$ABI" ]; then
  if nm -D --defined-only "$TORCH_LIB/libc10.so" | grep -q __cxx11; then ABI=1; else ABI=0; fi
fi

CUDA=${CUDA:-auto}
if [ "$CUDA" = auto ]; then
  if [ -f "$TORCH_LIB/libtorch_cuda.so" ]; then CUDA=1; else CUDA=0; fi
fi
# pip's libtorch.so is only NEEDS entries (libtorch_cpu, libtorch_cuda): a CPU
# libtorch (build/libtorch) leaves it out, and so cuBLAS, cuDNN and NCCL too
TORCH_LIBS="-ltorch_cpu -lc10"
[ -f "$TORCH_LIB/libtorch.so" ] && TORCH_LIBS="-ltorch $TORCH_LIBS"
[ "$CUDA" = 1 ] && TORCH_LIBS="$TORCH_LIBS -ltorch_cuda -lc10_cuda"

if [ -z "${CXXSTD:-}" ]; then
  CXXSTD=c++17
  for d in $TORCH_INC; do
    m="${d#-I}/c10/macros/Macros.h"
    [ -f "$m" ] && grep -q '__cplusplus < 202002L' "$m" && CXXSTD=c++20
  done
fi

# ---------------------------------------------------------------- sources
if [ -f "$HERE/torch_api.cpp" ]; then         # dist/shim-src
  GOTCH_CSRC=${GOTCH_CSRC:-$HERE}
  OUT=${OUT:-$HERE/../lib}
else                                          # repo: libtorch/shim
  GOTCH_CSRC=${GOTCH_CSRC:-$HERE/../../build/gotch/libtch/csrc}
  OUT=${OUT:-$HERE/../../build/shim}
fi
[ -d "$GOTCH_CSRC" ] || { echo "build_shim: $GOTCH_CSRC missing (make gotch, or set GOTCH_CSRC)" >&2; exit 1; }
GOTCH_CSRC=$(cd "$GOTCH_CSRC" && pwd)
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
# nproc would follow OMP_NUM_THREADS, a libtorch setting, not a build one
JOBS=${JOBS:-$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null || echo 2)}
PARTS=${PARTS:-1}
OPT=${OPT:--O1}
STUBS=${STUBS:-auto}
case $STUBS in
  auto) STUBS="$HERE/stubs-libtorch-$TORCH_VERSION.txt"; [ -f "$STUBS" ] || STUBS="" ;;
  none) STUBS="" ;;
  *) [ -f "$STUBS" ] || { echo "build_shim: STUBS=$STUBS not found" >&2; exit 1; } ;;
esac

W="$OUT/src"
rm -rf "$W"; mkdir -p "$W"
# ytrain's own C++: c10d (dist_api.cpp, dist_api.h, gloo-decl/ beside this
# script) and the ops gotch's API lacks (ops_api.cpp)
for f in dist_api.cpp dist_api.h ops_api.cpp; do
  [ -f "$HERE/$f" ] || { echo "build_shim: $HERE/$f missing" >&2; exit 1; }
  cp "$HERE/$f" "$W/"
done
[ -d "$HERE/gloo-decl" ] || { echo "build_shim: $HERE/gloo-decl missing" >&2; exit 1; }
NCCL=${NCCL:-auto}
NCCL_FLAGS=""
if [ "$CUDA" = 1 ] && [ "$NCCL" != 0 ]; then
  NCCL_FLAGS="-DUSE_C10D_NCCL"
  # CUDA 13 keeps CCCL (nv/target, cuda/std) in include/cccl
  for d in "${CUDA_HOME:-/usr/local/cuda}/include" "${CUDA_HOME:-/usr/local/cuda}/include/cccl" \
           /usr/local/cuda/include /usr/local/cuda/include/cccl \
           "$TORCH_ROOT"/../nvidia/*/include "$TORCH_ROOT"/../nvidia/*/include/cccl; do
    [ -d "$d" ] && NCCL_FLAGS="$NCCL_FLAGS -I$(cd "$d" && pwd)"
  done
elif [ "$NCCL" = 1 ]; then
  echo "build_shim: NCCL=1 needs a CUDA libtorch (CUDA=$CUDA)" >&2; exit 1
fi
for f in torch_api.cpp torch_api.h torch_api_generated.cpp.h torch_api_generated.h \
         stb_image.h stb_image_write.h stb_image_resize.h; do
  if [ -f "$GOTCH_CSRC/$f" ]; then cp "$GOTCH_CSRC/$f" "$W/"
  elif [ -f "$GOTCH_CSRC/../$f" ]; then cp "$GOTCH_CSRC/../$f" "$W/"
  else echo "build_shim: $f not found in $GOTCH_CSRC or its parent" >&2; exit 1; fi
done
# The header *defines* torch_last_err: declare it there, define it once below,
# so that several TUs can include the header.
sed -i 's/^thread_local char \*torch_last_err = nullptr;/extern thread_local char *torch_last_err;/' "$W/torch_api.h"
grep -q '^extern thread_local char \*torch_last_err;' "$W/torch_api.h" ||
  { echo "build_shim: torch_api.h no longer defines torch_last_err as expected" >&2; exit 1; }
# The generated code becomes its own TU(s) instead of being #included.
sed -i 's/^#include "torch_api_generated.cpp.h"//' "$W/torch_api.cpp"
# atx_shim_info tells a running binary which shim it loaded.
cat >> "$W/torch_api.cpp" <<EOF

thread_local char *torch_last_err = nullptr;
extern "C" const char *atx_shim_info() {
  return "libgotch_tch: gotch C API built against libtorch $TORCH_VERSION ($KIND, $TORCH_LIB, cxx11abi=$ABI, cuda=$CUDA, opt=$OPT, out=$OUT)";
}
EOF
# SDPA's attn_mask is optional: gotch passes an undefined tensor for none
# (ts.None), which libtorch ≥ 2.x rejects as a mask of no dtype; pass none,
# so that is_causal attention without a mask (model.Docs) runs.
sed -i 's/scaled_dot_product_attention(\*query, \*key, \*value, (attn_mask ? \*attn_mask : torch::Tensor())/scaled_dot_product_attention(*query, *key, *value, (attn_mask \&\& attn_mask->defined() ? c10::optional<torch::Tensor>(*attn_mask) : c10::nullopt)/' "$W/torch_api_generated.cpp.h"
grep -q 'attn_mask && attn_mask->defined()' "$W/torch_api_generated.cpp.h" ||
  { echo "build_shim: torch_api_generated.cpp.h no longer passes SDPA's attn_mask as expected" >&2; exit 1; }
# split the generated wrappers into PARTS TUs at function boundaries
awk -v parts="$PARTS" -v dir="$W" '
  FNR == NR { if ($0 ~ /^}/) total++; next }
  FNR == 1 { for (p = 0; p < parts; p++) printf "#include \"torch_api.h\"\n" > (dir "/gen_" p ".cpp") }
  { print > (dir "/gen_" int(fn * parts / total) ".cpp"); if ($0 ~ /^}/) fn++ }
' "$W/torch_api_generated.cpp.h" "$W/torch_api_generated.cpp.h"
rm "$W/torch_api_generated.cpp.h"

if [ -n "$STUBS" ]; then
  for f in "$W"/gen_*.cpp "$W/torch_api.cpp"; do
    awk -v names=1 -v stublog="$f.stubs" -v ver="$TORCH_VERSION" -f "$HERE/stub.awk" "$STUBS" "$f" > "$f.new"
    mv "$f.new" "$f"
  done
fi

export SHIM_CXXFLAGS="-std=$CXXSTD $OPT -fPIC -w -D_GLIBCXX_USE_CXX11_ABI=$ABI -I$W $TORCH_INC"
export SHIM_DIST_FLAGS="-DUSE_C10D_GLOO -I$HERE/gloo-decl" SHIM_NCCL_FLAGS="$NCCL_FLAGS" SHIM_NCCL="$NCCL"
export SHIM_TORCH_VERSION="$TORCH_VERSION" CXX
echo "build_shim: libtorch $TORCH_VERSION ($KIND) inc=[$TORCH_INC] lib=$TORCH_LIB abi=$ABI cuda=$CUDA std=$CXXSTD opt=$OPT parts=$PARTS jobs=$JOBS stubs=${STUBS:-none}" >&2
# the hand-written TU (stb_image + jit) is the slowest: start it first
{ echo torch_api; echo dist_api; echo ops_api; p=0; while [ $p -lt "$PARTS" ]; do echo "gen_$p"; p=$((p + 1)); done; } |
  xargs -P "$JOBS" -I{} sh "$SELF" __compile "$W/{}.cpp" "$W/{}.o"

cat "$W"/*.stubs 2>/dev/null | sort -u > "$OUT/stubs.txt" || true
# No version in the soname: a Go binary linked against one build runs with
# any other. --no-as-needed: nothing references libtorch_cuda's symbols, but
# loading it is what registers the CUDA kernels (Debian's gcc defaults to
# --as-needed).
# shellcheck disable=SC2086
# Linked beside and renamed: a running binary keeps the library it loaded.
$CXX -shared -o "$OUT/libgotch_tch.so.tmp" "$W"/*.o -Wl,-soname,libgotch_tch.so \
  -L"$TORCH_LIB" -Wl,-rpath,"$TORCH_LIB" -Wl,--no-as-needed $TORCH_LIBS -Wl,--as-needed
mv "$OUT/libgotch_tch.so.tmp" "$OUT/libgotch_tch.so"
NSTUBS=$(wc -l < "$OUT/stubs.txt")
DIST=gloo; [ -f "$W/dist_api.cpp.backends" ] && DIST=gloo,nccl
cat > "$OUT/shim.env" <<EOF
TORCH_VERSION=$TORCH_VERSION
TORCH_KIND=$KIND
TORCH_LIB=$TORCH_LIB
CXX11_ABI=$ABI
CUDA=$CUDA
OPT=$OPT
STUBBED=$NSTUBS
DIST_BACKENDS=$DIST
EOF
rm -rf "$W"
echo "build_shim: $OUT/libgotch_tch.so ($NSTUBS stubbed functions, list in $OUT/stubs.txt; c10d: $DIST)" >&2
