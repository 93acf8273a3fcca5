# stub.awk - replace the body of every C-API function that failed to compile
# with one that throws inside PROTECT(...), so the error reaches Go through
# torch_last_err / get_and_reset_last_err(). The signature, and so the C
# symbol, is kept.
#
# usage: awk -v base=SOURCE_BASENAME -v stublog=STUBS_OUT -v ver=TORCH_VERSION \
#            -f stub.awk ERRORLOG SOURCE > NEWSOURCE
#    or: awk -v names=1 -v stublog=STUBS_OUT -v ver=TORCH_VERSION \
#            -f stub.awk NAMELIST SOURCE > NEWSOURCE
#        (pre-apply a known list of names, e.g. a cached stubs.txt)
#
# A function is a column-0 definition whose name starts with at*_ (atg_, at_,
# ato_, ats_, atc_, atm_, ati_) and that ends with a column-0 '}', or a
# one-line definition ending in '}'. Every SOURCE line the compiler mentions
# (an error, or a "required from here" note) marks its enclosing function.
# Exit status 3 if an error lies outside any such function, or nothing could
# be stubbed (e.g. the error is in a header): the caller then stops instead
# of looping.

BEGIN {
  re = base
  gsub(/\./, "\\.", re)
  re = "(^|[/ ])" re ":[0-9]+:"
}

# ---- first file: the compiler's log, or a list of names
# (FILENAME, not FNR == NR: the first file may be empty)
FILENAME == ARGV[1] && names {
  if ($1 != "") want[$1] = 1
  next
}
FILENAME == ARGV[1] {
  if ($0 ~ /^In file included from / || $0 ~ /^[ \t]+from /) next
  s = $0
  while (match(s, re)) {
    m = substr(s, RSTART, RLENGTH)
    sub(/^[\/ ]/, "", m)
    split(m, a, ":")
    bad[a[2]] = 1
    s = substr(s, RSTART + RLENGTH)
  }
  next
}

# ---- second file: the source
function flush(   i, all, sig, rt, name) {
  if (!hasbad) {
    for (i = 1; i <= n; i++) print buf[i]
    return
  }
  all = buf[1]
  for (i = 2; i <= n; i++) all = all "\n" buf[i]
  sig = substr(all, 1, index(all, "{"))
  match(buf[1], /[ *]at[a-z]*_[A-Za-z0-9_]*\(/)
  name = substr(buf[1], RSTART + 1, RLENGTH - 2)
  rt = substr(buf[1], 1, RSTART)
  gsub(/[ \t]+$/, "", rt)
  print sig
  print "  PROTECT(throw std::runtime_error(\"gotch shim: " name \
        " is not available in libtorch " ver \
        " (stubbed when libgotch_tch was built)\");)"
  if (rt != "void") print "  return {};"
  print "}"
  if (stublog != "") print name >> stublog
  nstubbed++
}

{
  if (!infn) {
    if ($0 ~ /^[A-Za-z_][A-Za-z0-9_ <>:,\*]*[ \*]at[a-z]*_[A-Za-z0-9_]*\(/) {
      infn = 1; n = 0; hasbad = 0
    } else {
      if (FNR in bad) orphan = orphan " " FNR
      print
      next
    }
  }
  buf[++n] = $0
  if (FNR in bad) hasbad = 1
  if (n == 1 && names && match($0, /[ *]at[a-z]*_[A-Za-z0-9_]*\(/) && (substr($0, RSTART + 1, RLENGTH - 2) in want)) hasbad = 1
  if ($0 ~ /^}/ || (n == 1 && $0 ~ /\{/ && $0 ~ /\}[ \t]*$/)) {
    flush()
    infn = 0
  }
}

END {
  if (infn) for (i = 1; i <= n; i++) print buf[i]
  if (orphan != "") {
    print "stub.awk: " base ": compiler errors outside stubbable functions at lines" orphan > "/dev/stderr"
    exit 3
  }
  if (!names && nstubbed == 0) {
    print "stub.awk: " base ": the compile failed but nothing in " base " could be stubbed" > "/dev/stderr"
    exit 3
  }
}
