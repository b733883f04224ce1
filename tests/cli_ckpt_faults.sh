#!/usr/bin/env bash
# cli_ckpt_faults.sh - a checkpoint is published only when every rank knows it is whole. For
# every algorithm on 1, 2 and 3 ranks, a checkpoint write that fails on one rank (SALIENT_FAULT
# ckpt-write: an error reported; ckpt-lost: success reported but data lost, as when HDF5 did not
# pass up MPI-IO's failed write; ckpt-sync: fsync fails) and a real full disk (a small tmpfs)
# must give: exit 2 on every rank within the timeout (no hang, no crash), one "salient train:"
# line, latest still at the previous checkpoint (keep = 1: it must not have been pruned), no
# temporary file left, and a resume from it bitwise equal to a run never disturbed.
# Usage: cli_ckpt_faults.sh SALIENT SRCDIR
bin=$1 src=$2
source "$(dirname "$0")/lib.sh"
smoke="$src/jobs/configs/smoke.ini"
# the columns that do not depend on timing: round .. bytes_down, lr, consensus, local accuracies
cols() { cut -d, -f1-7,12,14-16 "$1/metrics.csv"; }
small=(--set data.synth_train=128 --set data.synth_test=64 --set data.clients=6
       --set checkpoint.every=1 --set checkpoint.keep=1)
injected=0 clear=0 hung=0

# Each rank's exit status into OUT/rc.RANK: mpirun reports only one of them.
cat >"$tmp/rank.sh" <<'EOF'
#!/usr/bin/env bash
out=$1; shift
"$@"
rc=$?
echo $rc >"$out/rc.${OMPI_COMM_WORLD_RANK:-0}"
exit $rc
EOF
chmod +x "$tmp/rank.sh"

# run NP OUT [ARGS...]: train with ARGS into OUT under a 120 s timeout. mpirun is told not to
# kill the other ranks when one exits non-zero, so that each rank's own status reaches
# OUT/rc.RANK; rc is the worst of them (124 if the timeout struck), ranks_rc their set.
run() {
  local np=$1 out=$2
  shift 2
  mkdir -p "$out"
  rm -f "$out"/rc.*
  timeout 120 mpirun --mca orte_abort_on_non_zero_status 0 -np "$np" "$tmp/rank.sh" "$out" \
    "$bin" train "$smoke" "${small[@]}" "$@" --out "$out" >"$out.log" 2>"$out.err"
  rc=$?
  ranks_rc=$(cat "$out"/rc.* 2>/dev/null | sort -u | tr '\n' ' ')
  [[ $rc == 0 ]] && rc=$(cat "$out"/rc.* 2>/dev/null | sort -n | tail -1)
}

# failed_well WHAT DIR NP PREV: the failure checks on an output directory
failed_well() {
  local what=$1 d=$2 np=$3 prev=$4 n
  n=$(ls "$d"/rc.* 2>/dev/null | wc -l)
  [[ $rc == 124 ]] && hung=$((hung + 1))
  local before=$fail
  check '[[ $rc == 2 && $ranks_rc == "2 " && $n == "$np" ]]' \
    "$what: rc $rc, ranks' exit codes '$ranks_rc' of $n ranks (want 2 on all $np; 124 = hung)"
  check '[[ $(grep -c "^salient train:" "$d.err") == 1 ]] && grep -q "latest still points at $prev, which is intact" "$d.err"' \
    "$what: want one clear line: $(grep -v '^round' "$d.err" | grep -i 'salient\|error\|signal' | head -3 | tr '\n' ' ')"
  check '[[ $(readlink "$d/ckpt/latest") == "$prev" ]] && "$bin" ckpt inspect "$d/ckpt/latest" >/dev/null 2>&1' \
    "$what: latest -> $(readlink "$d/ckpt/latest") (want $prev, verifying): $(ls -A "$d/ckpt" | tr '\n' ' ')"
  check '[[ -z $(find "$d/ckpt" -name "*.tmp") ]]' "$what: a temporary file was left: $(ls -A "$d/ckpt" | tr '\n' ' ')"
  [[ $fail == "$before" ]] && clear=$((clear + 1))
}

# Every algorithm on 1, 2 and 3 ranks (fedavg on 2 and 3); fedavg and dpsgd (the two ways of writing: the server
# alone, every rank its row) with all three faults, the others with one each. Under the
# sanitizers (6x slower) a subset: centralized, fedavg and dpsgd on 1 and 3 ranks.
# (fedavg needs 2 ranks at least: a server and a client rank.)
cases=("centralized 1 all")
for np in 1 2 3; do
  ((np > 1)) && cases+=("fedavg $np all")
  cases+=("dpsgd $np all" "localsgd $np $np" "allreduce $np $((np % 3 + 1))")
done
if [[ ${SALIENT_SANITIZED:-0} == 1 ]]; then
  cases=("centralized 1 all" "fedavg 2 all" "dpsgd 3 all" "fedavg 3 2" "dpsgd 1 1")
fi

# --- injected failures, each on a run resumed at round 2 that writes round 3 ---
for c in "${cases[@]}"; do
  read -r alg np which <<<"$c"
  a=(--set train.algorithm=$alg)
  [[ $alg == localsgd ]] && a+=(--set train.sync_every=2)
  base=$tmp/base x=$tmp/x
  rm -rf "$base" "$x"
  # the undisturbed run, whose round-2 checkpoint every faulted run resumes from
  run "$np" "$base" "${a[@]}" --set run.rounds=3 --set checkpoint.keep=2
  # the writing ranks: fedavg's server and centralized write alone (rank 0)
  last=$((np - 1))
  [[ $alg == fedavg || $alg == centralized ]] && last=0
  sites=(ckpt-write:$last ckpt-lost:$last ckpt-sync:0)
  [[ $which != all ]] && sites=("${sites[which - 1]}")
  for site in "${sites[@]}"; do
    rm -rf "$x" && cp -a "$base" "$x"
    rm "$x/ckpt/round-000003.h5" && ln -sfn round-000002.h5 "$x/ckpt/latest"
    injected=$((injected + 1))
    SALIENT_FAULT=$site run "$np" "$x" "${a[@]}" --set run.rounds=3 --resume latest
    failed_well "$alg on $np rank(s), SALIENT_FAULT=$site" "$x" "$np" round-000002.h5
  done
  run "$np" "$x" "${a[@]}" --set run.rounds=3 --resume latest
  check '[[ $rc == 0 ]] && cmp -s <(cols "$x") <(cols "$base")' \
    "$alg on $np rank(s): the resume after the failures differs from an undisturbed run (rc $rc): $(diff <(cols "$x") <(cols "$base") | head -2 | tr '\n' ' ')"
done

# --- a real full disk: a tmpfs with room for one checkpoint and its reservation, not two (sized
# from an undisturbed run in a roomy tmpfs: what it left, plus half a checkpoint and 1.1 MiB).
# The second checkpoint must be refused before HDF5 writes a byte (its reservation fails) ---
mnt=$tmp/mnt
mkdir -p "$mnt"
if mount -t tmpfs -o size=64m tmpfs "$mnt" 2>/dev/null; then
  umount "$mnt"
  full=("dpsgd 1" "dpsgd 2" "dpsgd 3" "fedavg 3" "centralized 1")
  [[ ${SALIENT_SANITIZED:-0} == 1 ]] && full=("dpsgd 3")
  for c in "${full[@]}"; do
    read -r alg np <<<"$c"
    a=(--set train.algorithm=$alg)
    rm -rf "$tmp/roomy" "$tmp/dref"
    mount -t tmpfs -o size=64m tmpfs "$mnt"
    run "$np" "$mnt/o" "${a[@]}" --set run.rounds=2
    used=$(df -k --output=used "$mnt" | tail -1) blocks=$(du -k "$mnt/o/ckpt/round-000002.h5" | cut -f1)
    cp -a "$mnt/o" "$tmp/dref"
    umount "$mnt"
    size=$((used + blocks / 2 + 1126))
    mount -t tmpfs -o size=${size}k tmpfs "$mnt"
    injected=$((injected + 1))
    run "$np" "$mnt/o" "${a[@]}" --set run.rounds=2
    failed_well "$alg on $np rank(s), disk full (tmpfs of $size KiB)" "$mnt/o" "$np" round-000001.h5
    check 'grep -q "round-000002.h5. needs [0-9.]* MiB, which .* cannot give (No space left on device" "$mnt/o.err"' \
      "$alg on $np rank(s), disk full: not refused by the reservation: $(grep '^salient train' "$mnt/o.err")"
    cp -a "$mnt/o" "$tmp/roomy"
    umount "$mnt"
    run "$np" "$tmp/roomy" "${a[@]}" --set run.rounds=2 --resume latest
    check '[[ $rc == 0 ]] && cmp -s <(cols "$tmp/roomy") <(cols "$tmp/dref")' \
      "$alg on $np rank(s), disk full: the resume with room differs from an undisturbed run"
  done
else
  skip_part "cli_ckpt_faults: the disk-full cases (cannot mount a tmpfs here: needs root)"
fi

echo "faults injected: $injected, failed clearly: $clear, hung: $hung"
finish cli_ckpt_faults
