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
# finish NAME: the "NAME: N passed, N failed" line, and the exit status
finish() { echo "$1: $pass passed, $fail failed"; [[ $fail == 0 ]]; }
