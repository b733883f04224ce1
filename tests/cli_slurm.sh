#!/usr/bin/env bash
# cli_slurm.sh - the job scripts against a real Slurm: scripts/slurm-local starts slurmctld,
# slurmd and munged on this machine (skipped, not faked, where it cannot: exit 77), then
# jobs/train.sbatch is submitted for real: input checks before submission, --test-only, a
# dpsgd and an SSFL job launched by srun --mpi=pmix whose metrics equal the same runs under
# mpirun, and a preemption: a job signalled (SIGUSR1, as Slurm's --signal sends before the time
# limit) checkpoints, requeues itself, resumes and ends with the metrics of an uninterrupted run.
# In the Release build only (tests/CMakeLists.txt says why). Usage: cli_slurm.sh SALIENT SRCDIR
bin=$1 src=$2
source "$(dirname "$0")/lib.sh"
export SALIENT_BIN=$bin
smoke="$src/jobs/configs/smoke.ini"
cols() { cut -d, -f1-7,12,14-16 "$1/metrics.csv"; }

chmod o+x "$tmp" # munge clients reach the daemon through a socket under it
up=$("$src/scripts/slurm-local" up --dir "$tmp/slurm" 2>"$tmp/up.err")
rc=$?
if [[ $rc == 77 ]]; then
  echo "cli_slurm: SKIPPED ($(tail -1 "$tmp/up.err"))"
  exit 77
fi
if [[ $rc != 0 ]]; then
  bad "scripts/slurm-local up failed ($rc): $(tail -3 "$tmp/up.err" | tr '\n' ' ')"
  finish cli_slurm
  exit 1
fi
eval "$up"
trap '"$src/scripts/slurm-local" down --dir "$tmp/slurm" 2>/dev/null; rm -rf "$tmp"' EXIT
# Jobs are submitted from a scratch directory: runs/ and the logs land there.
mkdir -p "$tmp/work" && cd "$tmp/work" || exit 1
train="$src/jobs/train.sbatch"

# wait_job ID: until the job has left the queue (bounded)
wait_job() {
  for _ in $(seq 600); do
    squeue -h -j "$1" 2>/dev/null | grep -q . || return 0
    sleep 0.2
  done
  return 1
}
json() { sed -n "s/.*\"$2\": \"\{0,1\}\([^\",]*\).*/\1/p" "$1/summary.json"; }

# --- usage and input checks, before anything is submitted ---
"$train" --help >"$tmp/help" 2>&1
rc=$?
check '[[ $rc == 0 ]] && grep -q "sbatch \[sbatch options\] jobs/train.sbatch CONFIG.ini" "$tmp/help"' "--help: rc $rc"
"$train" "$tmp/nope.ini" >"$tmp/o" 2>"$tmp/e"
rc=$?
check '[[ $rc == 2 && $(wc -l <"$tmp/e") == 1 ]] && grep -q "nope.ini.* not found" "$tmp/e"' "missing config: rc $rc: $(cat "$tmp/e")"
"$train" "$smoke" --set train.lrr=0.1 >"$tmp/o" 2>"$tmp/e"
rc=$?
check '[[ $rc == 2 && $(wc -l <"$tmp/e") == 1 ]] && grep -q "lrr" "$tmp/e"' "bad key: rc $rc: $(cat "$tmp/e")"
check '[[ -z $(squeue -h) ]]' "a job was submitted despite bad input: $(squeue -h)"
sbatch --test-only -n 3 "$train" "$smoke" >"$tmp/o" 2>&1
rc=$?
check '[[ $rc == 0 ]] && grep -q "to start at" "$tmp/o"' "sbatch --test-only: rc $rc: $(cat "$tmp/o")"

# --- dpsgd and SSFL as batch jobs (srun --mpi=pmix) equal the same runs under mpirun ---
d=(--set train.algorithm=dpsgd --set data.clients=6 --set run.rounds=3)
f=(--set train.algorithm=fedavg --set data.clients=10 --set train.sample_fraction=0.5
   --set sparsity.method=snip --set sparsity.density=0.1 --set run.rounds=3)
"$train" "$smoke" "${d[@]}" >"$tmp/sub" 2>&1
rc=$?
id=$(sed -n 's/.*submitted job \([0-9]*\);.*/\1/p' "$tmp/sub")
check '[[ $rc == 0 && -n $id ]] && grep -q "results in runs/salient-$id/" "$tmp/sub"' "train.sbatch submit: rc $rc: $(cat "$tmp/sub")"
jid=$(sbatch --parsable -n 3 -J ssfl "$train" "$smoke" "${f[@]}")
wait_job "$id" && wait_job "$jid"
check '[[ -s runs/salient-$id/summary.json && $(json runs/salient-$id rounds) == 3 ]]' \
  "dpsgd job $id: no summary: $(tail -3 runs/salient-$id/slurm-$id.out | tr '\n' ' ')"
check '[[ -s runs/ssfl-$jid/summary.json ]]' "SSFL job $jid: $(tail -3 runs/ssfl-$jid/slurm-$jid.out | tr '\n' ' ')"
# the logs are in the run directories: run directly, Slurm writes there from the start; sbatch'ed,
# Slurm's own file holds one line pointing to the run directory's
check '[[ -s runs/salient-$id/slurm-$id.out && ! -e slurm-salient-$id.out ]]' \
  "train.sbatch run directly: log not in runs/salient-$id/: $(ls runs/salient-$id slurm-* 2>&1 | tr '\n' ' ')"
check '[[ $(grep -c . slurm-ssfl-$jid.out) == 1 ]] && grep -q "the log continues in $PWD/runs/ssfl-$jid/slurm-$jid.out" slurm-ssfl-$jid.out && grep -q "results in" runs/ssfl-$jid/slurm-$jid.out' \
  "sbatch train.sbatch: $(head -3 slurm-ssfl-$jid.out | tr '\n' ' ')"
mpirun -np 4 "$bin" train "$smoke" "${d[@]}" --out "$tmp/ref-d" 2>/dev/null
mpirun -np 3 "$bin" train "$smoke" "${f[@]}" --out "$tmp/ref-f" 2>/dev/null
check 'cmp -s <(cols runs/salient-$id) <(cols "$tmp/ref-d")' "dpsgd under srun differs from mpirun"
check 'cmp -s <(cols runs/ssfl-$jid) <(cols "$tmp/ref-f")' "SSFL under srun differs from mpirun"
check 'grep -q "4 ranks" runs/salient-$id/slurm-$id.out' "the job did not run the #SBATCH --ntasks=4 default"

# --- ssfl-paper.sh: the plan printed, then one job whose log and plan land in the run's directory
p=(--config "$smoke" --set train.algorithm=fedavg --set data.clients=4 --set run.rounds=2)
"$src/jobs/ssfl-paper.sh" "${p[@]}" --out "$tmp/paper-t" --test-only >"$tmp/pt" 2>&1
rc=$?
check '[[ $rc == 0 && ! -e $tmp/paper-t ]] && grep -q "^ssfl-paper.sh: plan: predicted_wall_s: " "$tmp/pt" && grep -q "to start at" "$tmp/pt"' \
  "ssfl-paper.sh --test-only: rc $rc: $(grep -v plan: "$tmp/pt")"
"$src/jobs/ssfl-paper.sh" "${p[@]}" --out "$tmp/paper" --time 0:05:00 >"$tmp/ps" 2>&1
rc=$?
pid=$(sed -n 's/.*submitted job \([0-9]*\):.*/\1/p' "$tmp/ps")
check '[[ $rc == 0 && -n $pid ]]' "ssfl-paper.sh: rc $rc: $(grep -v plan: "$tmp/ps")"
wait_job "$pid"
check '[[ -s $tmp/paper/summary.json && -s $tmp/paper/slurm-$pid.out && -s $tmp/paper/plan.txt ]]' \
  "ssfl-paper.sh job $pid: $(ls "$tmp/paper" 2>&1 | tr '\n' ' ')"
check '[[ -z $(ls slurm-*"$pid"* 2>/dev/null) ]]' "ssfl-paper.sh job $pid left its log outside its run directory"

# --- preemption: SIGUSR1 to the batch shell -> checkpoint, requeue, resume, same metrics
# (120 rounds outlast the signal's delivery by seconds) ---
p=(--set train.algorithm=dpsgd --set data.clients=6 --set run.rounds=120 --set checkpoint.every=50)
pid=$(sbatch --parsable -n 3 -J preempt "$train" "$smoke" "${p[@]}")
for _ in $(seq 300); do [[ -s runs/preempt-$pid/metrics.csv ]] && break; sleep 0.1; done
scancel --signal=USR1 --batch "$pid"
wait_job "$pid"
for _ in $(seq 300); do [[ -s runs/preempt-$pid/summary.json ]] && break; sleep 0.2; wait_job "$pid"; done
log=runs/preempt-$pid/slurm-$pid.out
check 'grep -q "salient: SIGUSR1: stopped after round" "$log" && grep -q "requeueing job $pid" "$log"' \
  "no stop/requeue in the log: $(grep -v ^round "$log" | tail -4 | tr '\n' ' ')"
check 'grep -q "restart 1: resuming from runs/preempt-$pid/ckpt/latest" "$log"' "the requeued job did not resume"
mpirun -np 3 "$bin" train "$smoke" "${p[@]}" --out "$tmp/ref-p" 2>/dev/null
check '[[ -s runs/preempt-$pid/summary.json ]] && cmp -s <(cols runs/preempt-$pid) <(cols "$tmp/ref-p")' \
  "preempted+requeued job's metrics differ from an uninterrupted run"
check 'h5diff -q runs/preempt-$pid/ckpt/latest "$tmp/ref-p/ckpt/latest" /ranks' "final state differs"

# --- a job id reused: a requeued job whose directory holds another job's token (as an older run's
# directory would, met by a job that got its id again) neither resumes nor overwrites it ---
r=(--set train.algorithm=dpsgd --set data.clients=6 --set run.rounds=400 --set checkpoint.every=1)
rid=$(sbatch --parsable -n 2 -J reuse "$train" "$smoke" "${r[@]}")
for _ in $(seq 300); do [[ -e runs/reuse-$rid/ckpt/latest ]] && break; sleep 0.1; done
tok=$(cat runs/reuse-$rid/.salient-job 2>/dev/null)
check '[[ $tok == $rid.* ]]' "job $rid left no token in its directory: '$tok'"
echo "an.older.job" >runs/reuse-$rid/.salient-job
scontrol requeue "$rid"
for _ in $(seq 300); do grep -q "belongs to another job" runs/reuse-$rid/slurm-$rid.out 2>/dev/null && break; sleep 0.2; done
scancel "$rid" 2>/dev/null
wait_job "$rid"
check 'grep -q "^train.sbatch: restart 1 of job $rid: .runs/reuse-$rid. belongs to another job .*not resuming or overwriting it" runs/reuse-$rid/slurm-$rid.out' \
  "the requeued job with a foreign token: $(grep -v ^round runs/reuse-$rid/slurm-$rid.out | tail -3 | tr '\n' ' ')"
check '[[ -e runs/reuse-$rid/ckpt/latest && ! -e runs/reuse-$rid/summary.json && $(cat runs/reuse-$rid/.salient-job) == an.older.job ]]' \
  "the foreign directory was touched: $(ls -a runs/reuse-$rid | tr '\n' ' ')"

# --- scaling study: one job per point, then a gather job (afterok on all) -> CSV + plots ---
"$src/jobs/scaling.sh" --ranks "1 2" --out "$tmp/sc" "$src/jobs/configs/scaling-smoke.ini" >"$tmp/sc.out" 2>&1
rc=$?
gid=$(sed -n 's/^scaling.sh: gather: job \([0-9]*\) (after 2 point(s): afterok:[0-9]*:[0-9]*).*/\1/p' "$tmp/sc.out")
check '[[ $rc == 0 && -n $gid ]]' "scaling.sh: rc $rc: $(cat "$tmp/sc.out")"
# --- comparison study: --densities is a salient compare grid, one array task per point ---
# (allreduce alone: each point is an array task, and the Slurm tests are CI's critical path)
"$src/jobs/compare-study.sh" --ntasks 3 --densities "1 0.1" --algorithms allreduce \
  --out "$tmp/cs" "$src/jobs/configs/compare-smoke.ini" >"$tmp/cs.out" 2>&1
rc=$?
aid=$(sed -n 's/^compare-study.sh: array job \([0-9]*\) .*/\1/p' "$tmp/cs.out")
cid=$(sed -n "s/^compare-study.sh: gather: job \([0-9]*\) (afterany:$aid).*/\1/p" "$tmp/cs.out")
check '[[ $rc == 0 && -n $aid && -n $cid ]]' "compare-study.sh: rc $rc: $(cat "$tmp/cs.out")"
check 'grep -q "^compare-study.sh:   task ${aid}_1: allreduce:mask sparsity.method=none sparsity.density=1$" "$tmp/cs.out"' \
  "--densities did not become the method x density grid with allreduce:mask: $(cat "$tmp/cs.out")"
wait_job "$gid"
wait_job "$cid"
check '[[ $(head -1 "$tmp/sc/scaling.csv") == point,nodes,ranks,algorithm,rounds,round_s,compute_s,comm_s,wait_s,bytes_total,bytes_per_rank,final_test_acc,speedup,efficiency ]]' \
  "scaling.csv header: $(head -1 "$tmp/sc/scaling.csv" 2>&1)"
check '[[ $(cut -d, -f1,3 "$tmp/sc/scaling.csv" | tail -n +2 | tr "\n" " ") == "ranks-1,1 ranks-2,2 " ]]' \
  "scaling.csv points: $(cut -d, -f1,3 "$tmp/sc/scaling.csv" 2>&1 | tr '\n' ' ')"
check 'awk -F, "NR == 2 { exit !(\$13 == 1 && \$14 == 1) }" "$tmp/sc/scaling.csv"' "the first point's speedup and efficiency are not 1"
# summary.csv: one row per point that ran (method none below density 1 is skipped)
rows=$(awk -F, 'NR > 1 { print $2 "," $3 "," $4 }' "$tmp/cs/summary.csv" 2>/dev/null | tr '\n' ' ')
check '[[ $rows == "allreduce:mask,none,1 allreduce:mask,snip,1 allreduce:mask,snip,0.1 " ]]' \
  "summary.csv rows: $rows"
# at density 0.1 the masked runs move about a tenth of the dense bytes
check 'awk -F, "NR == 1 { for (i = 1; i <= NF; i++) if (\$i == \"bytes_total_mean\") b = i }
  NR > 1 && \$3 == \"none\" { d[\$2] = \$b } NR > 1 && \$4 == 0.1 { s[\$2] = \$b }
  END { n = 0; for (a in d) { n++; if (!(s[a] > 0 && s[a] < 0.15 * d[a])) exit 1 } exit n != 1 }" "$tmp/cs/summary.csv"' \
  "density 0.1 did not cut the bytes to < 0.15x dense: $(cat "$tmp/cs/summary.csv" 2>&1)"
if command -v gnuplot >/dev/null; then
  for f in sc/speedup.png sc/efficiency.png sc/round_time.png sc/bytes_per_rank.png cs/accuracy_bytes.png cs/final_accuracy.png; do
    check '[[ $(head -c 4 "$tmp/$f" | tail -c 3) == PNG ]]' "no plot $f"
  done
fi

finish cli_slurm
