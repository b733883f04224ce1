# lib.sh - sourced by tests/cli_*.sh after they set bin and src: a scratch directory removed
# at exit, the check/ok/bad counters, the mpirun environment, and the closing summary line.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# check 'CONDITION' 'MESSAGE': CONDITION is eval'ed. Save a command's $? in a variable before
# calling check: a $(...) in MESSAGE runs first and would reset $?.
check() { if eval "$1"; then ok; else bad "$2"; fi; }
# mpirun as root in CI, with more ranks than cores, without busy polling while oversubscribed
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1 OPENBLAS_NUM_THREADS=1
# sanitized: true in the ASan+UBSan build (ctest sets SALIENT_SANITIZED=1 there,
# tests/CMakeLists.txt), where every process runs ~6-10x slower. There a test runs each code
# path at least once, so that memory errors and undefined behaviour are still found, and leaves
# the repetition (the same path at more rank counts, more rounds, several algorithms or graphs
# that share the code, bitwise-equality matrices) to the Release build, which runs all of it.
# Every check that does run under ASan can still fail.
sanitized() { [[ ${SALIENT_SANITIZED:-0} == 1 ]]; }
# Skips are said and counted, never passed off as passes. A whole test that cannot run here (no
# Slurm, no root, no PyTorch) says "NAME: SKIPPED (why)" and exits 77, which ctest reports as
# skipped (SKIP_RETURN_CODE, tests/CMakeLists.txt); scripts/test counts it, and with SALIENT_CI=1
# fails on it. A part of a test that cannot run: skip_part WHY; the test then ends with 77 too
# (when nothing failed), so that a partial run is not reported as a full pass.
# bad_cfg WHAT PATTERN ARGS...: `$bin train $smoke ARGS` (the caller sets smoke) must refuse
# the config: a non-zero exit and one line matching PATTERN, the key and its fix
bad_cfg() {
  local what=$1 pat=$2 out rc
  shift 2
  out=$("$bin" train "$smoke" "$@" --out "$tmp/bad" 2>&1)
  rc=$?
  check '[[ $rc != 0 && $(grep -c . <<<"$out") == 1 ]] && grep -q "$pat" <<<"$out"' \
    "$what: rc $rc, output: $out"
}
skipped_parts=0
skip_part() { skipped_parts=$((skipped_parts + 1)); echo "SKIPPED part: $*"; }
# finish NAME: the "NAME: N passed, N failed[, N parts skipped]" line, and the exit status
finish() {
  echo "$1: $pass passed, $fail failed$( ((skipped_parts)) && echo ", $skipped_parts part(s) SKIPPED")"
  [[ $fail == 0 ]] || return 1
  ((skipped_parts == 0)) || exit 77
}
