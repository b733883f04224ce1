# vcluster.sh - sourced first (before lib.sh) by the multi-node tests, tests/cli_vcluster*.sh.
#
# Open MPI 4.1.4 over TCP segfaults inside MPI_Init in about 1 of 30 four-node launches (a peer's
# first message beats its handler's registration; docs/performance.md, issue 9). That is not
# salient's to fix, so a failed script runs once more, first printing what failed (its FAIL
# lines, and whether a rank died of SIGSEGV). A second failure fails the test, saying whether it
# was the same kind (the same checks failed, numbers aside: a real failure, not the rare crash);
# so does a skip (exit 77) on the second try, which would otherwise hide the first failure.
if [[ -z ${CLI_VCLUSTER_TRY:-} ]]; then
  vc_test=$(basename "$0" .sh)
  vc_log=$(mktemp -d)
  # tries 1 and 2 run the whole script, their output shown and kept in $vc_log/1 and /2
  # vc_cause N: one line saying what failed in try N
  vc_cause() {
    local fails segv=""
    fails=$(grep '^FAIL: ' "$vc_log/$1" | cut -c1-200 | head -3 | tr '\n' ' ')
    grep -qiE 'segmentation fault|signal 11|SIGSEGV' "$vc_log/$1" && segv=" (a rank died of SIGSEGV)"
    echo "${fails:-no FAIL line; last output: $(tail -2 "$vc_log/$1" | tr '\n' ' ')}$segv"
  }
  # the kind of a failure: its FAIL lines with numbers (times, pids, ports) taken out
  vc_kind() { grep '^FAIL: ' "$vc_log/$1" | sed 's/[0-9][0-9.]*/N/g' | sort; }
  CLI_VCLUSTER_TRY=1 bash "$0" "$@" 2>&1 | tee "$vc_log/1"
  rc=${PIPESTATUS[0]}
  if [[ $rc == 0 || $rc == 77 ]]; then rm -rf "$vc_log"; exit "$rc"; fi
  # the RETRY lines also go to $SALIENT_RETRY_LOG (tests/CMakeLists.txt: in the build
  # directory; scripts/test prints it), since ctest shows no output of a test that passed
  vc_say() { echo "$vc_test: RETRY: $*" | tee -a "${SALIENT_RETRY_LOG:-/dev/null}"; }
  vc_say "try 1 failed (exit $rc) after ${SECONDS} s: $(vc_cause 1)"
  vc_say "running once more (Open MPI's rare MPI_Init crash over TCP fails ~1 launch in 30)"
  CLI_VCLUSTER_TRY=2 bash "$0" "$@" 2>&1 | tee "$vc_log/2"
  rc=${PIPESTATUS[0]}
  if [[ $rc == 0 ]]; then
    vc_say "try 2 passed; try 1's failure is taken for the known crash"
  elif [[ $rc == 77 ]]; then
    vc_say "try 2 was skipped after try 1 failed: that is no pass"
    rc=1
  elif [[ -n $(vc_kind 1) && $(vc_kind 1) == "$(vc_kind 2)" ]]; then
    vc_say "try 2 failed the same way (exit $rc): $(vc_cause 2); a real failure, not the rare crash"
  else
    vc_say "try 2 failed too (exit $rc): $(vc_cause 2)"
  fi
  rm -rf "$vc_log"
  exit "$rc"
fi

# vcluster_up TEST NODES [CLEANUP]: start NODES nodes at 1 Gb/s named $name in $tmp/vc (needs
# lib.sh's $tmp and the script's $vc, $name), eval the environment it prints (kept in $up), and
# cd into $tmp/work. Where a virtual cluster cannot run here the test says SKIPPED and exits 77;
# a failed start is a failure. On exit the cluster goes down; CLEANUP (shell text) runs too.
vcluster_up() {
  local test=$1 nodes=$2 rc
  chmod o+x "$tmp" # munge clients reach the daemon through a socket under it
  up=$("$vc" up --dir "$tmp/vc" --name "$name" --nodes "$nodes" --rate 1gbit 2>"$tmp/up.err")
  rc=$?
  if [[ $rc == 77 ]]; then
    echo "$test: SKIPPED ($(tail -1 "$tmp/up.err"))"
    exit 77
  fi
  if [[ $rc != 0 ]]; then
    bad "vcluster up failed ($rc): $(tail -5 "$tmp/up.err" | tr '\n' ' ')"
    finish "$test"
    exit 1
  fi
  trap '"$vc" down --dir "$tmp/vc" >/dev/null 2>&1; '"${3:-}"' rm -rf "$tmp"' EXIT
  eval "$up"
  mkdir -p "$tmp/work" && cd "$tmp/work" || exit 1
}
