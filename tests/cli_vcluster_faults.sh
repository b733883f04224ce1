#!/usr/bin/env bash
# cli_vcluster_faults.sh - faults injected on the virtual cluster (4 nodes, links at 1 Gb/s;
# jobs/vcluster/vcluster, skipped where it cannot run): a client rank killed with SIGKILL in
# the middle of a run, a node's link down for 20 s (once with [run] comm_timeout above 20 s:
# the run completes; once below: it fails with the watchdog's line), a straggler node (its link
# at 10 Mb/s) and SIGTERM to a batch job (checkpoint, requeue, resume). Each run either ends
# with the metrics of an undisturbed run, or fails with one line per waiting rank naming its
# rank, host, operation, round and peer within comm_timeout + 10 s, leaving only complete
# metrics rows and an intact checkpoint from which --resume latest ends with those metrics.
# Nothing may hang: every run is bounded. Prints one "fault:" line per fault for
# docs/reliability.md. Under ASan (sanitized, tests/lib.sh) the link cut that the run rides out
# and the straggler are the Release build's alone: salient runs its ordinary code there (TCP
# retransmits; a slow link is a slow send), which the undisturbed runs of every other test
# sanitize, while the kill, the watchdog's failure and the SIGTERM take paths no other test
# takes across nodes. Usage: cli_vcluster_faults.sh SALIENT SRCDIR
bin=$1 src=$2
source "$(dirname "$0")/vcluster.sh" # a retry after Open MPI's rare crash; vcluster_up
source "$(dirname "$0")/lib.sh"
export SALIENT_BIN=$bin # jobs/train.sbatch runs this binary
vc=$src/jobs/vcluster/vcluster
smoke=$src/jobs/configs/smoke.ini
train=$src/jobs/train.sbatch
name=f$(($$ % 1000000))
cols() { cut -d, -f1-7,12,14-16 "$1/metrics.csv"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

vcluster_up cli_vcluster_faults 4

# One config for every run (comm_timeout does not change the math, so it may differ)
cfg=(--set train.algorithm=dpsgd --set data.clients=8 --set run.rounds=16 --set checkpoint.every=4
     --set checkpoint.keep=10)
timeout 300 mpirun -np 4 "$bin" train "$smoke" "${cfg[@]}" --out "$tmp/ref" >/dev/null 2>&1
check '[[ -s $tmp/ref/summary.json ]]' "the undisturbed reference run failed"

# start NAME ARGS...: srun the config on the 4 nodes in the background (pid in $job); returns
# once the first checkpoint (round 4) is complete and round 5 logged (or the run ended), so
# that the fault strikes mid-run with something to resume from
start() {
  local d=$1
  shift
  timeout 300 srun -N4 -n4 --mpi=pmix "$bin" train "$smoke" "${cfg[@]}" "$@" --out "$d" >"$d.out" 2>&1 &
  job=$!
  for _ in $(seq 600); do
    [[ -L $d/ckpt/latest && $( { wc -l <"$d/metrics.csv"; } 2>/dev/null) -ge 6 ]] && break
    kill -0 "$job" 2>/dev/null || break
    sleep 0.1
  done
}
# first_line FILE T0: seconds from T0 until the watchdog's first line was in FILE (polled
# while the job runs; sets first)
watch_line() {
  first=""
  while kill -0 "$job" 2>/dev/null; do
    [[ -z $first ]] && grep -q "no progress for" "$1" 2>/dev/null && first=$(secs "$2" "$(now)")
    sleep 0.2
  done
  [[ -z $first ]] && grep -q "no progress for" "$1" 2>/dev/null && first=$(secs "$2" "$(now)")
}
# the rows of metrics.csv are all complete (as many fields as the header) and the latest
# checkpoint verifies
intact() {
  awk -F, 'NR == 1 { n = NF } NR > 1 && NF != n { bad = 1 } END { exit bad }' "$1/metrics.csv" &&
    "$bin" ckpt inspect "$1/ckpt/latest" 2>/dev/null | grep -q "^crc32c: ok"
}
# resume NAME: --resume latest on the 4 nodes; the metrics must equal the reference
resume_same() {
  timeout 300 srun -N4 -n4 --mpi=pmix "$bin" train "$smoke" "${cfg[@]}" --out "$1" --resume latest \
    >"$1.resume.out" 2>&1
  [[ -s $1/summary.json ]] && cmp -s <(cols "$1") <(cols "$tmp/ref")
}

# --- kill -9 of one client rank mid-run: the others end the job within comm_timeout + 10 s ---
start k --set run.comm_timeout=10
victim=$(pgrep -f "^$bin train .*--out k\$" | while read -r p; do
  [[ $(tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | sed -n 's/^PMIX_RANK=//p') == 2 ]] && echo "$p"
done)
t0=$(now)
[[ -n $victim ]] && kill -KILL $victim
watch_line k.out "$t0"
wait "$job"
took=$(secs "$t0" "$(now)")
check '[[ -n $victim ]]' "kill -9: no rank 2 process found"
check 'awk -v t="$took" "BEGIN { exit !(t <= 20) }" && [[ -n $first ]]' "kill -9: the job took $took s to end (limit 20), watchdog line after '${first:-never}' s: $(tail -3 k.out | tr '\n' ' ')"
check 'grep -Eq "^salient: rank [013] on node[124]: no progress for 10 s in .* \(round [0-9]+\), waiting for" k.out' \
  "kill -9: no line naming rank, host, operation, round and peer: $(grep -v '^round' k.out | tail -3 | tr '\n' ' ')"
check 'intact k' "kill -9: metrics.csv has an incomplete row or ckpt/latest does not verify"
check 'resume_same k' "kill -9: --resume latest did not end with the undisturbed metrics: $(tail -2 k.resume.out 2>/dev/null | tr '\n' ' ')"
echo "fault: kill -9 rank 2 (node3) mid-run, comm_timeout 10 s: job ended after $took s, first line at ${first:-never} s; resumed: $( [[ $fail == 0 ]] && echo identical || echo DIFFERENT)"

link=$name-v3
if ! sanitized; then
  # --- node3's link down for 20 s mid-run, comm_timeout 60 s: completes, same metrics ---
  f0=$fail
  start l60 --set run.comm_timeout=60
  t0=$(now)
  ip link set "$link" down && sleep 20 && ip link set "$link" up
  wait "$job"
  rc=$?
  took=$(secs "$t0" "$(now)")
  check '[[ $rc == 0 && -s l60/summary.json ]] && cmp -s <(cols l60) <(cols "$tmp/ref")' \
    "link down 20 s, timeout 60: rc $rc, metrics differ or missing: $(grep -v '^round' l60.out | tail -3 | tr '\n' ' ')"
  echo "fault: node3 link down 20 s, comm_timeout 60 s: completed after $took s from the cut, metrics $( [[ $fail == "$f0" ]] && echo identical || echo DIFFERENT)"
fi

# --- the same with comm_timeout 8 s: a clear failure within 8 + 10 s, then an exact resume ---
f0=$fail
start l8 --set run.comm_timeout=8
t0=$(now)
ip link set "$link" down
( sleep 20; ip link set "$link" up ) &
upper=$!
watch_line l8.out "$t0"
wait "$job"
rc=$?
took=$(secs "$t0" "$(now)")
wait "$upper"
check '[[ $rc != 0 && -n $first ]] && awk -v t="$first" "BEGIN { exit !(t <= 18) }"' \
  "link down 20 s, timeout 8: rc $rc, first watchdog line at '${first:-never}' s (limit 18)"
check 'grep -Eq "^salient: rank [0-3] on node[1-4]: no progress for 8 s in .* \(round [0-9]+\)" l8.out' \
  "link down, timeout 8: no watchdog line: $(grep -v '^round' l8.out | tail -3 | tr '\n' ' ')"
check 'intact l8 && resume_same l8' "link down, timeout 8: not intact, or the resume differs: $(tail -2 l8.resume.out 2>/dev/null | tr '\n' ' ')"
echo "fault: node3 link down 20 s, comm_timeout 8 s: first line at ${first:-never} s, job ended after $took s (Slurm reaches node3 once the link is back); resumed $( [[ $fail == "$f0" ]] && echo identical || echo DIFFERENT)"

if ! sanitized; then
  # --- a straggler: node3's link at 10 Mb/s, the others at 1 Gb/s; SSFL (fedavg, server on
  # node1, client ranks on node2-4): completes with the one-node metrics, and ranks.csv shows
  # node3's transfers an order of magnitude slower than the other clients' ---
  f0=$fail
  s=(--set train.algorithm=fedavg --set data.clients=6 --set train.sample_fraction=1
     --set sparsity.method=snip --set sparsity.density=0.1 --set run.rounds=6)
  timeout 300 mpirun -np 4 "$bin" train "$smoke" "${s[@]}" --out "$tmp/ref-s" >/dev/null 2>&1
  "$vc" rate --dir "$tmp/vc" node3 10mbit >/dev/null 2>&1
  t0=$(now)
  timeout 300 srun -N4 -n4 --mpi=pmix "$bin" train "$smoke" "${s[@]}" --out st >st.out 2>&1
  rc=$?
  took=$(secs "$t0" "$(now)")
  "$vc" rate --dir "$tmp/vc" node3 1gbit >/dev/null 2>&1
  check '[[ $rc == 0 && -s st/summary.json ]] && cmp -s <(cols st) <(cols "$tmp/ref-s")' \
    "straggler: rc $rc, or metrics differ from one node: $(grep -v '^round' st.out | tail -3 | tr '\n' ' ')"
  # per round: node3's comm_s against the largest of the other client ranks'
  ratio=$(awk -F, 'NR > 1 && $2 > 0 { if ($3 == "node3") s[$1] = $5; else if ($5 > o[$1]) o[$1] = $5 }
    END { m = 1e9; for (r in s) { q = o[r] > 0 ? s[r] / o[r] : 1e9; if (q < m) m = q } printf "%.1f", m }' st/ranks.csv 2>/dev/null)
  check '[[ $(grep -c ",node3," st/ranks.csv 2>/dev/null) == 6 ]] && awk -v q="${ratio:-0}" "BEGIN { exit !(q >= 3) }"' \
    "straggler: ranks.csv does not single out node3 (least per-round ratio of its comm_s to the other clients' ${ratio:-?}): $(head -5 st/ranks.csv 2>&1 | tr '\n' ' ')"
  echo "fault: straggler node3 at 10 Mb/s (others 1 Gb/s), SSFL 6 rounds: completed in $took s, metrics $( [[ $fail == "$f0" ]] && echo identical || echo DIFFERENT); node3's comm_s >= ${ratio:-?}x any other client's in every round (ranks.csv)"
fi

# --- SIGTERM to the batch job: checkpoint, exit, requeue, exact resume ---
f0=$fail
jid=$(sbatch --parsable -N4 -n4 -J term "$train" "$smoke" "${cfg[@]}")
for _ in $(seq 600); do [[ $( { wc -l <"runs/term-$jid/metrics.csv"; } 2>/dev/null) -ge 4 ]] && break; sleep 0.1; done
t0=$(now)
scancel --signal=TERM --batch "$jid"
for _ in $(seq 900); do
  grep -q "restart 1:" "runs/term-$jid/slurm-$jid.out" 2>/dev/null && [[ -s runs/term-$jid/summary.json ]] && break
  sleep 0.2
done
for _ in $(seq 300); do squeue -h -j "$jid" 2>/dev/null | grep -q . || break; sleep 0.2; done
took=$(secs "$t0" "$(now)")
log=runs/term-$jid/slurm-$jid.out
check 'grep -q "stopped after round" "$log" && grep -q "requeueing job $jid" "$log" && grep -q "restart 1: resuming from runs/term-$jid/ckpt/latest" "$log"' \
  "SIGTERM: no stop/requeue/resume in the log: $(grep -v ^round "$log" | tail -4 | tr '\n' ' ')"
check '[[ -s runs/term-$jid/summary.json ]] && cmp -s <(cols runs/term-$jid) <(cols "$tmp/ref")' \
  "SIGTERM: the requeued job's metrics differ from the undisturbed run"
echo "fault: SIGTERM to the batch job on 4 nodes: checkpointed, requeued and finished after $took s; metrics $( [[ $fail == "$f0" ]] && echo identical || echo DIFFERENT)"

finish cli_vcluster_faults
