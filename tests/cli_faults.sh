#!/usr/bin/env bash
# cli_faults.sh - no silent hangs, no lost work: a rank frozen (SIGSTOP) in the middle of a run
# makes its peers end the job within [run] comm_timeout + 10 s, each with one line naming its
# rank, host, the operation, the round and the peer waited for; metrics.csv keeps only complete
# rows, the last checkpoint is intact, and --resume latest ends with the metrics of a run that
# never failed. For dpsgd (a collective) and fedavg (the server waiting for a client's upload).
# And a rank that fails inside a collective (SALIENT_FAULT) ends the run at once, with its line.
# Usage: cli_faults.sh SALIENT SRCDIR
bin=$1 src=$2
source "$(dirname "$0")/lib.sh"
smoke="$src/jobs/configs/smoke.ini"
cols() { cut -d, -f1-7,12,14-16 "$1/metrics.csv"; }

# freeze NAME RANK ARGS...: start the run under mpirun, freeze MPI rank RANK once 3 rounds are
# logged, wait for the job to end; sets rc and took (seconds from the freeze to the end).
freeze() {
  local name=$1 victim=$2
  shift 2
  mpirun -np 3 "$bin" train "$smoke" "$@" --out "$tmp/$name" 2>"$tmp/$name.err" &
  local job=$!
  for _ in $(seq 300); do
    [[ $( { wc -l <"$tmp/$name/metrics.csv"; } 2>/dev/null) -ge 4 ]] && break
    sleep 0.1
  done
  local pid
  pid=$(pgrep -f "^$bin train $smoke .*$tmp/$name\$" | while read -r p; do
    [[ $(tr '\0' '\n' <"/proc/$p/environ" | sed -n 's/^OMPI_COMM_WORLD_RANK=//p') == "$victim" ]] && echo "$p"
  done)
  local t0=$SECONDS
  [[ -n $pid ]] && kill -STOP "$pid"
  # bounded: a hang would fail here, not block the suite
  for _ in $(seq 600); do kill -0 "$job" 2>/dev/null || break; sleep 0.1; done
  took=$((SECONDS - t0))
  if kill -0 "$job" 2>/dev/null; then
    kill -9 "$job"
    pkill -9 -f "$tmp/$name\$"
  fi
  wait "$job"
  rc=$?
  [[ -n $pid ]] && kill -CONT "$pid" 2>/dev/null
}

slow=(--set run.comm_timeout=120)
# Each run must still be going when the freeze strikes after round 3: 30 rounds in Release.
# Under ASan (sanitized, tests/lib.sh) a round's compute is ~7x Release's, so 12 rounds leave at
# least as long a window; the resumed and reference runs, which dominate here, then repeat the
# same steps 12 times instead of 30 (the disk-full case needs 6)
rounds=30
sanitized && rounds=12
# --- dpsgd: rank 1 frozen; ranks 0 and 2 wait in a gossip step ---
d=(--set train.algorithm=dpsgd --set data.clients=6 --set run.rounds=$rounds --set checkpoint.every=2
   --set run.comm_timeout=3)
freeze d 1 "${d[@]}"
check '[[ $rc != 0 && $took -le 13 ]]' "dpsgd with a frozen rank: rc $rc after $took s (want non-zero within 3 + 10 s)"
line=$(grep "no progress for" "$tmp/d.err" | head -1)
check '[[ $line =~ ^salient:\ rank\ [02]\ on\ [^\ ]+:\ no\ progress\ for\ [0-9]+\ s\ in\ .*\(round\ [0-9]+\),\ waiting\ for ]]' \
  "the timeout line: '$line'"
check '! grep -q "^salient: rank 1 on" <(grep "no progress" "$tmp/d.err" | head -2)' "the frozen rank was named as the waiting one"
check 'awk -F, "NR == 1 { n = NF } NR > 1 && NF != n { exit 1 }" "$tmp/d/metrics.csv"' "metrics.csv has an incomplete row"
"$bin" ckpt inspect "$tmp/d/ckpt/latest" >/dev/null 2>&1
check '[[ $? == 0 ]]' "the last checkpoint is not intact"
# (no freeze from here on: a timeout that only a hang can reach, since a checkpoint's write and
# read-back count as one collective exchange and take seconds under the sanitizers)
mpirun -np 3 "$bin" train "$smoke" "${d[@]}" "${slow[@]}" --out "$tmp/d" --resume latest 2>/dev/null
mpirun -np 3 "$bin" train "$smoke" "${d[@]}" "${slow[@]}" --out "$tmp/dref" 2>/dev/null
check 'cmp -s <(cols "$tmp/d") <(cols "$tmp/dref")' "dpsgd: resume after the timeout differs from an undisturbed run"

# --- fedavg: client rank 2 frozen; the server names it ---
f=(--set train.algorithm=fedavg --set data.clients=4 --set train.sample_fraction=1 --set run.rounds=$rounds
   --set checkpoint.every=2 --set run.comm_timeout=3)
freeze f 2 "${f[@]}"
check '[[ $rc != 0 && $took -le 13 ]]' "fedavg with a frozen client rank: rc $rc after $took s"
# (the upload, or, frozen after its uploads left, the evaluated model's send to the client ranks)
check 'grep -Eq "^salient: rank 0 on [^ ]*: no progress for [0-9]* s in (a sampled client.s upload|sending the evaluated model to a client rank) \(round [0-9]*\), waiting for rank 2;" "$tmp/f.err"' \
  "the server's line does not name rank 2: $(grep 'no progress' "$tmp/f.err" | head -2 | tr '\n' ' ')"
mpirun -np 3 "$bin" train "$smoke" "${f[@]}" --out "$tmp/f" --resume latest 2>/dev/null
mpirun -np 3 "$bin" train "$smoke" "${f[@]}" --out "$tmp/fref" 2>/dev/null
check 'cmp -s <(cols "$tmp/f") <(cols "$tmp/fref")' "fedavg: resume after the timeout differs from an undisturbed run"

# --- disk full while writing a checkpoint (a 20 MiB tmpfs as --out: two dpsgd checkpoints of
# ~9 MiB fit, the third does not): one clear error, the previous checkpoint usable, no file
# under a final name half-written, and --resume latest (once there is room) exact ---
full=$tmp/full
if mkdir -p "$full" && mount -t tmpfs -o size=20m tmpfs "$full" 2>/dev/null; then
  mpirun -np 3 "$bin" train "$smoke" "${d[@]}" "${slow[@]}" --set checkpoint.keep=10 --out "$full" 2>"$tmp/full.err"
  rc=$?
  check '[[ $rc != 0 && $(grep -c "^salient train:" "$tmp/full.err") == 1 ]] && grep -q "^salient train: checkpoint .*/full/ckpt/round-000006\.h5. needs [0-9.]* MiB, which .* cannot give (No space left on device.*latest still points at round-000004.h5, which is intact" "$tmp/full.err"' \
    "disk full: rc $rc, want one clear line: $(grep -v '^round' "$tmp/full.err" | grep salient | tail -2 | tr '\n' ' ')"
  check '[[ $(readlink "$full/ckpt/latest") == round-000004.h5 && -z $(find "$full/ckpt" -name "*.tmp") && ! -e $full/ckpt/round-000006.h5 ]] && "$bin" ckpt inspect "$full/ckpt/latest" >/dev/null 2>&1' \
    "disk full: the previous checkpoint is not intact, or a partial file was left: $(ls -A "$full/ckpt" | tr '\n' ' ')"
  check 'awk -F, "NR == 1 { n = NF } NR > 1 && NF != n { exit 1 }" "$full/metrics.csv"' "disk full: metrics.csv has an incomplete row"
  cp -a "$full" "$tmp/roomy"
  umount "$full"
  mpirun -np 3 "$bin" train "$smoke" "${d[@]}" "${slow[@]}" --out "$tmp/roomy" --resume latest 2>/dev/null
  check 'cmp -s <(cols "$tmp/roomy") <(cols "$tmp/dref")' "disk full: the resume with room differs from an undisturbed run"
else
  skip_part "cli_faults: the disk-full case (cannot mount a tmpfs here: needs root)"
fi

# --- one rank's failure inside a collective is every rank's, at once: a top-k residual gone NaN
# and ring scratch that cannot be allocated, on one rank (SALIENT_FAULT, src/core/fault.c). The
# run ends within seconds with the failing rank's line, not after [run] comm_timeout (600 s) ---
a=(--set train.algorithm=allreduce --set data.clients=3)
for f in "nonfinite-topk:1 --set comm.compress=topk" "nomem-ring:2 --set comm.allreduce=ring"; do
  read -r fault extra <<<"$f"
  t0=$SECONDS
  # shellcheck disable=SC2086
  SALIENT_FAULT=$fault timeout 120 mpirun -np 3 "$bin" train "$smoke" "${a[@]}" $extra \
    --out "$tmp/agree" 2>"$tmp/agree.err"
  rc=$? took=$((SECONDS - t0))
  line=$(grep "^salient train:" "$tmp/agree.err")
  case $fault in
    nonfinite-topk:1) want="salient train: rank 1: top-k: accumulated gradient \[0\] is nan" ;;
    *) want="salient train: rank 2: ring allreduce: out of memory for [0-9]+ bytes of scratch" ;;
  esac
  check '[[ $rc == 1 && $took -le 30 && $line =~ ^$want ]]' \
    "SALIENT_FAULT=$fault: rc $rc after $took s, line '$line' (want rc 1 within 30 s, '$want')"
done

# --- comm_timeout = 0 is off; a bad value is refused ---
"$bin" train "$smoke" --set run.comm_timeout=-1 --out "$tmp/bad" 2>"$tmp/bad.err"
rc=$?
check '[[ $rc == 2 ]] && grep -q "comm_timeout" "$tmp/bad.err"' "comm_timeout = -1: rc $rc"

finish cli_faults
