#!/usr/bin/env bash
# cli_ckpt.sh - HDF5 checkpoints: a resumed run ends bitwise identical to one never interrupted
# (centralized; fedavg, also on another rank count and placement; dpsgd, localsgd,
# allreduce+topk), also after a SIGKILL between checkpoints and after SIGUSR1/SIGTERM; each
# dpsgd rank's BatchNorm state is its neighbours' gossip mix (a replay), localsgd's is averaged
# at a sync; resumes that would change the math are refused; truncated, damaged and foreign
# files give one clear line and leave the previous checkpoint usable; keep/latest/inspect behave.
# Usage: cli_ckpt.sh SALIENT SRCDIR
bin=$1 src=$2
source "$(dirname "$0")/lib.sh"
smoke="$src/jobs/configs/smoke.ini"
# the columns that do not depend on timing: round .. bytes_down, lr, consensus, local and
# per-client accuracies
cols() { cut -d, -f1-7,12,14-18 "$1/metrics.csv"; }
same_run() { # same_run A B WHAT: identical metrics and identical final state
  local ra=$1 rb=$2 what=$3 fa fb obj
  check 'cmp -s <(cols "$ra") <(cols "$rb")' "$what: metrics differ after resume: $(diff <(cols "$ra") <(cols "$rb") | head -3 | tr '\n' ' ')"
  fa=$(readlink -f "$ra/ckpt/latest") fb=$(readlink -f "$rb/ckpt/latest")
  check '[[ $(basename "$fa") == $(basename "$fb") ]]' "$what: latest checkpoints $fa vs $fb"
  for obj in /model /mask /optim /ranks /state; do
    h5ls "$fa$obj" >/dev/null 2>&1 || continue
    check 'h5diff -q "$fa" "$fb" $obj' "$what: $obj differs after resume"
  done
}

# --- centralized: resume from round 2 of 4 into a new directory ---
c=(--set train.lr=0.01 --set run.rounds=4 --set checkpoint.every=1 --set checkpoint.keep=10)
"$bin" train "$smoke" "${c[@]}" --out "$tmp/c1" 2>/dev/null
"$bin" train "$smoke" "${c[@]}" --out "$tmp/c2" --resume "$tmp/c1/ckpt/round-000002.h5" 2>"$tmp/c2.err"
rc=$?
check '[[ $rc == 0 ]] && grep -q "resumed from .*round-000002.h5 at round 2" "$tmp/c2.err"' \
  "centralized resume failed ($rc): $(tail -1 "$tmp/c2.err")"
same_run "$tmp/c1" "$tmp/c2" centralized
check '[[ $(readlink "$tmp/c1/ckpt/latest") == round-000004.h5 ]]' "latest -> $(readlink "$tmp/c1/ckpt/latest")"
check '! ls -A "$tmp/c1/ckpt" | grep -q tmp' "a temporary file was left in ckpt/"

# --- keep: only the newest K files remain ---
"$bin" train "$smoke" "${c[@]}" --set checkpoint.keep=2 --out "$tmp/k" 2>/dev/null
check '[[ $(ls "$tmp/k/ckpt" | tr "\n" " ") == "latest round-000003.h5 round-000004.h5 " ]]' \
  "keep=2 left: $(ls "$tmp/k/ckpt" | tr '\n' ' ')"

# --- a run resumed from an earlier checkpoint with keep=1 keeps the file it just wrote ---
cp -r "$tmp/c1" "$tmp/c4"
"$bin" train "$smoke" "${c[@]}" --set checkpoint.keep=1 --set run.rounds=3 --out "$tmp/c4" \
  --resume "$tmp/c4/ckpt/round-000002.h5" 2>/dev/null
check '[[ $(readlink "$tmp/c4/ckpt/latest") == round-000003.h5 && -e $tmp/c4/ckpt/round-000003.h5 && ! -e $tmp/c4/ckpt/round-000002.h5 ]]' \
  "keep=1 after resuming from round 2: $(ls "$tmp/c4/ckpt" | tr '\n' ' ')"

# --- inspect ---
"$bin" ckpt inspect "$tmp/c1/ckpt/latest" >"$tmp/inspect" 2>&1
rc=$?
for k in round algorithm arch ranks nranks seed config.train.lr parameters density weight_density test_acc; do
  check 'grep -q "^$k: " "$tmp/inspect"' "ckpt inspect lacks '$k:' (rc $rc)"
done
check 'grep -q "^tensor fc1/weight: shape 300x784, kept 235200 of 235200, density 1.0000$" "$tmp/inspect"' \
  "ckpt inspect tensor line: $(grep fc1/weight "$tmp/inspect")"
check 'grep -q "^round: 4$" "$tmp/inspect" && grep -q "^crc32c: ok$" "$tmp/inspect"' "inspect round, crc32c"

# --- fedavg SSFL: killed between checkpoints, resumed on another rank count and placement (the
# killed run trains each client on its home rank, the resumed one deals them evenly) ---
f=(--set train.algorithm=fedavg --set data.clients=10 --set train.sample_fraction=0.5
   --set sparsity.method=snip --set sparsity.density=0.1 --set run.rounds=5 --set checkpoint.every=2
   --set checkpoint.keep=10)
mpirun -np 3 "$bin" train "$smoke" "${f[@]}" --out "$tmp/f1" 2>/dev/null
SALIENT_KILL_AT_ROUND=4 mpirun -np 3 "$bin" train "$smoke" "${f[@]}" --set run.placement=block \
  --out "$tmp/f2" >/dev/null 2>&1
rc=$?
check '[[ $rc != 0 && $(readlink "$tmp/f2/ckpt/latest") == round-000002.h5 ]]' \
  "the killed fedavg run: rc $rc, latest -> $(readlink "$tmp/f2/ckpt/latest")"
check '[[ $(tail -1 "$tmp/f2/metrics.csv" | cut -d, -f1) == 3 ]]' "the killed run should have logged round 3"
mpirun -np 4 "$bin" train "$smoke" "${f[@]}" --out "$tmp/f2" --resume latest 2>"$tmp/f2.err"
rc=$?
check '[[ $rc == 0 ]]' "fedavg resume on 4 ranks failed: $(tail -1 "$tmp/f2.err")"
same_run "$tmp/f1" "$tmp/f2" "fedavg (3 ranks block, killed at round 4, resumed on 4 balanced)"
check 'cmp -s "$tmp/f1/mask.csv" "$tmp/f2/mask.csv"' "fedavg mask.csv differs after resume"
# the server writes fedavg's file alone (nranks 1), but it records the run's rank count: 3 for
# the uninterrupted run, 4 for the file written after the resume on 4 ranks
for x in f1:3 f2:4; do
  run=${x%:*} np=${x#*:}
  "$bin" ckpt inspect "$tmp/$run/ckpt/latest" >"$tmp/inspect.$run" 2>&1
  check 'grep -q "^ranks: $np$" "$tmp/inspect.$run" && grep -q "^nranks: 1 " "$tmp/inspect.$run"' \
    "fedavg $run's checkpoint inspects as $(grep -E "^n?ranks:" "$tmp/inspect.$run" | tr '\n' ' '), not ranks $np of a file written by 1"
done

# Under ASan (6x slower) each kind of state is written and resumed once: the plain dpsgd and
# localsgd rows are the masked dpsgd's code, BatchNorm statistics travel alike in fedavg and
# dpsgd, and SIGUSR1 stops as SIGTERM does; the Release build runs them all.
san=${SALIENT_SANITIZED:-0}
# --- decentralized algorithms: every rank's own state; killed on rank 1 ---
decs=("dpsgd --set topology.graph=onepeer-exponential" "localsgd --set train.sync_every=3"
      "allreduce --set comm.compress=topk --set comm.topk_density=0.05"
      "dpsgd --set sparsity.method=snip --set sparsity.density=0.2")
[[ $san == 1 ]] && decs=("${decs[@]:2}")
for alg in "${decs[@]}"; do
  name=${alg%% *}
  d=(--set train.algorithm=$alg --set data.clients=8 --set run.rounds=5 --set checkpoint.every=2
     --set checkpoint.keep=10)
  mpirun -np 4 "$bin" train "$smoke" "${d[@]}" --out "$tmp/d1" 2>/dev/null
  rm -rf "$tmp/d2"
  SALIENT_KILL_AT_ROUND=3:1 mpirun -np 4 "$bin" train "$smoke" "${d[@]}" --out "$tmp/d2" >/dev/null 2>&1
  mpirun -np 4 "$bin" train "$smoke" "${d[@]}" --out "$tmp/d2" --resume latest 2>"$tmp/d2.err"
  rc=$?
  check '[[ $rc == 0 ]] && grep -q "at round 2$" "$tmp/d2.err"' "$alg: resume failed ($rc): $(tail -1 "$tmp/d2.err")"
  same_run "$tmp/d1" "$tmp/d2" "$alg"
  h5dump -H "$tmp/d1/ckpt/latest" >"$tmp/h5.$name" 2>&1
  rm -rf "$tmp/d1"
done

# --- ResNet-20 with BatchNorm: the running statistics travel and resume with the model ---
r=(--set model.arch=resnet20 --set model.norm=batch --set data.synth_train=48 --set data.synth_test=16
   --set data.clients=6 --set train.batch=16 --set run.rounds=3 --set checkpoint.every=1
   --set checkpoint.keep=10)
bns=(fedavg dpsgd)
[[ $san == 1 ]] && bns=(fedavg)
for alg in "${bns[@]}"; do
  rm -rf "$tmp/r1" "$tmp/r2"
  mpirun -np 3 "$bin" train "$smoke" "${r[@]}" --set train.algorithm=$alg --out "$tmp/r1" 2>/dev/null
  SALIENT_KILL_AT_ROUND=3 mpirun -np 3 "$bin" train "$smoke" "${r[@]}" --set train.algorithm=$alg \
    --out "$tmp/r2" >/dev/null 2>&1
  mpirun -np 3 "$bin" train "$smoke" "${r[@]}" --set train.algorithm=$alg --out "$tmp/r2" \
    --resume latest 2>"$tmp/r2.err"
  rc=$?
  check '[[ $rc == 0 ]]' "resnet20-bn $alg resume failed ($rc): $(tail -1 "$tmp/r2.err")"
  same_run "$tmp/r1" "$tmp/r2" "resnet20-bn $alg"
  check 'h5ls "$tmp/r1/ckpt/latest/state/layer3.2.bn2" 2>/dev/null | grep -q running_var' \
    "resnet20-bn $alg: the checkpoint lacks /state/layer3.2.bn2/running_var"
  # the statistics moved off their initial 0/1: they were averaged from trained clients/ranks
  check '[[ $(h5dump -d /state/bn1/num_batches_tracked "$tmp/r1/ckpt/latest" | grep -c "(0): 0$") == 0 ]]' \
    "resnet20-bn $alg: num_batches_tracked still 0"
done

# --- dpsgd gossips each rank's BatchNorm state with its weights; localsgd averages it at syncs ---
# A replay, one step a round (8 samples a rank, batch 8) on a ring of 4: the same step without an
# exchange (localsgd that never syncs) gives each rank's state before the mix, u_j, and dpsgd's
# rank i must then hold sum_j W_ij u_j with W the ring's Metropolis-Hastings weights (1/3 self
# and each neighbour); not the global mean, and rows unlike each other. /state (the average
# model's, which is evaluated) is the rows' mean; num_batches_tracked mixes back to 1 exactly.
g=(--set model.arch=resnet20 --set model.norm=batch --set data.synth_train=32 --set data.synth_test=8
   --set data.clients=4 --set train.batch=8 --set run.rounds=1 --set checkpoint.every=1
   --set topology.graph=ring --set topology.weights=mh)
# (under ASan not the synced run: its state allreduce is the call allreduce's average makes)
gruns=("gd dpsgd" "gl localsgd 1000" "gs localsgd 1")
[[ $san == 1 ]] && gruns=("${gruns[@]:0:2}")
for run in "${gruns[@]}"; do
  read -r name alg every <<<"$run"
  mpirun -np 4 "$bin" train "$smoke" "${g[@]}" --set train.algorithm=$alg \
    --set train.sync_every=${every:-8} --out "$tmp/$name" 2>"$tmp/$name.err"
  rc=$?
  check '[[ $rc == 0 ]]' "resnet20-bn $run: rc $rc: $(grep -v "^salient" "$tmp/$name.err" | head -3)"
done
rows() { # rows RUN DATASET: the dataset's floats, one line per rank (an /state: one line)
  h5dump -d "$2" -m %.9g -y -w 0 "$tmp/$1/ckpt/latest" 2>/dev/null |
    awk '/^ *}$/ && on {exit} on {gsub(/ /, ""); print} /DATA {/ {on = 1}'
}
replay=$(python3 - "$(rows gd /ranks/state)" "$(rows gl /ranks/state)" "$(rows gs /ranks/state)" <<'PY'
import sys
gd, gl, gs = ([float(x) for x in a.replace('\n', ',').split(',') if x] for a in sys.argv[1:4])
P = 4
ns = len(gd) // P
if ns == 0 or len(gd) != P * ns or len(gl) != P * ns or len(gs) not in (0, P * ns):
    print("mix 1 mean 0 spread 0 synced 0 (rows: %d %d %d floats, not 4 x ns)"
          % (len(gd), len(gl), len(gs)))
    sys.exit()
row = lambda v, r: v[r * ns:(r + 1) * ns]
u = [row(gl, r) for r in range(P)]
mean = [sum(u[r][k] for r in range(P)) / P for k in range(ns)]
worst = gap = spread = 0.0
for i in range(P):
    mix = [(u[i][k] + u[(i - 1) % P][k] + u[(i + 1) % P][k]) / 3 for k in range(ns)]
    d = row(gd, i)
    worst = max(worst, max(abs(d[k] - mix[k]) / max(1.0, abs(mix[k])) for k in range(ns)))
    gap = max(gap, max(abs(d[k] - mean[k]) for k in range(ns)))
    spread = max(spread, max(abs(d[k] - gd[k]) for k in range(ns)))
synced = not gs or all(row(gs, r) == row(gs, 0) for r in range(P))
print("mix %.3g mean %.3g spread %.3g synced %d" % (worst, gap, spread, synced))
PY
)
read -r _ worst _ gap _ spread _ synced <<<"$replay"
check 'awk "BEGIN{exit !($worst <= 1e-6)}"' "dpsgd's state is not the ring's mix of the ranks' states: $replay"
check 'awk "BEGIN{exit !($gap > 1e-4 && $spread > 1e-4)}"' \
  "dpsgd's per-rank states are the global mean or all alike: $replay"
check '[[ $synced == 1 ]]' "localsgd sync_every=1: the ranks' states differ after a sync: $replay"
check 'python3 - "$(rows gd /ranks/state)" "$(rows gd /state/bn1/running_mean)" <<"PY"
import sys
v = [float(x) for x in sys.argv[1].replace("\n", ",").split(",") if x]
m = [float(x) for x in sys.argv[2].split(",") if x]
ns = len(v) // 4
# bn1 is the first state tensor (running_mean first): its mean over the ranks is /state
sys.exit(not m or any(abs(sum(v[r * ns + k] for r in range(4)) / 4 - m[k]) > 1e-6 for k in range(len(m))))
PY' "dpsgd: /state/bn1/running_mean is not the mean of the ranks' rows"
# bytes: one step, each of 4 ranks hands its n weights and ns state floats to 2 neighbours
dims() { h5ls "$tmp/gd/ckpt/latest/ranks/$1" | sed -n 's/.*{4, \([0-9]*\)}.*/\1/p'; }
n=$(dims weights) ns=$(dims state)
want=$((4 * 2 * 4 * (n + ns))) got=$(tail -1 "$tmp/gd/metrics.csv" | cut -d, -f6)
check '[[ -n $n && -n $ns && $got == "$want" ]]' \
  "dpsgd+BatchNorm bytes_up $got, not 4 ranks x 2 neighbours x 4 B x ($n weights + $ns state)"
check '[[ $(h5dump -d /state/bn1/num_batches_tracked -y "$tmp/gd/ckpt/latest" | grep -cx " *1") == 1 ]]' \
  "dpsgd: num_batches_tracked is not 1 after one step: $(h5dump -d /state/bn1/num_batches_tracked -y "$tmp/gd/ckpt/latest" | grep -A1 DATA)"
# The same dpsgd checkpoint without /ranks/state, as written before its ranks kept their own
# statistics, is refused in one line rather than resumed with the average for every rank
# (h5py deletes the rows; in Release alone, as the other tests' Python-only checks)
py=/usr/bin/python3 # Debian's h5py lives beside the system Python
if ! sanitized && $py -c "import h5py" 2>/dev/null; then
  cp "$tmp/gd/ckpt/round-000001.h5" "$tmp/gd.h5"
  drop='import sys, h5py; f = h5py.File(sys.argv[1], "r+"); del f["/ranks/state"]'
  ub=$($py -c "$drop; print(f.userblock_size); f.close()" "$tmp/gd.h5")
  tail -c +$((ub + 1)) "$tmp/gd.h5" >"$tmp/gd-old.h5" # unsealed, as `ckpt seal` takes it
  "$bin" ckpt seal "$tmp/gd-old.h5" "$tmp/gd-nos.h5" >/dev/null 2>&1
  mpirun -np 4 "$bin" train "$smoke" "${g[@]}" --set train.algorithm=dpsgd --set run.rounds=2 \
    --out "$tmp/gd2" --resume "$tmp/gd-nos.h5" >/dev/null 2>"$tmp/gd2.err"
  rc=$?
  check '[[ $rc == 2 && $(grep -c "^salient train:" "$tmp/gd2.err") == 1 ]] && grep -q "lacks /ranks/state" "$tmp/gd2.err"' \
    "dpsgd+BatchNorm checkpoint without /ranks/state: rc $rc: $(grep -v "^salient: " "$tmp/gd2.err" | head -2)"
elif ! sanitized; then
  skip_part "cli_ckpt: the checkpoint without /ranks/state (no h5py for $py)"
fi

# --- ckpt inspect checks the BatchNorm state's CRCs as a resume does: /state behind a seal made
# again over the change (the seal would catch it first otherwise: `ckpt seal` of the file without
# its user block, as for a file changed with h5py), and a row of /ranks/state, which the seal
# leaves out; the same file unchanged, stripped and sealed alike, passes ---
gdf=$(readlink -f "$tmp/gd/ckpt/latest")
ub=$(h5dump -B -H "$gdf" | sed -n 's/.*USERBLOCK_SIZE \([0-9]*\).*/\1/p')
off=$(h5dump -p -H -d /state/bn1/running_var "$gdf" | sed -n 's/.*OFFSET \([0-9]*\).*/\1/p')
tail -c +$((ub + 1)) "$gdf" >"$tmp/st-same.old"
cp "$tmp/st-same.old" "$tmp/st-bad.old"
# running_var[1] becomes 3.4e38: finite, so only its CRC can tell
printf '\x7f\x7f\x7f\x7f' | dd of="$tmp/st-bad.old" bs=1 seek=$((off - ub + 4)) conv=notrunc 2>/dev/null
off=$(h5dump -p -H -d /ranks/state "$gdf" | sed -n 's/.*OFFSET \([0-9]*\).*/\1/p')
ns=$(h5dump -H -d /ranks/state "$gdf" | sed -n 's/.*DATASPACE *SIMPLE *{ *( *[0-9]*, *\([0-9]*\) ).*/\1/p')
cp "$gdf" "$tmp/rs-bad.h5"
printf '\x7f\x7f\x7f\x7f' | dd of="$tmp/rs-bad.h5" bs=1 seek=$((off + 4 * ns + 8)) conv=notrunc 2>/dev/null
for x in same bad; do "$bin" ckpt seal "$tmp/st-$x.old" "$tmp/st-$x.h5" >/dev/null 2>&1; done
for x in "$gdf|" "$tmp/st-same.h5|" "$tmp/st-bad.h5|/state/bn1/running_var fails its CRC-32C check" \
         "$tmp/rs-bad.h5|row 1 of /ranks/state fails its CRC-32C check"; do
  f=${x%%|*} want=${x#*|}
  "$bin" ckpt inspect "$f" >"$tmp/bn.out" 2>"$tmp/bn.err"
  rc=$?
  if [[ -z $want ]]; then # "crc32c: ok" vouches for the BatchNorm state, and says so
    check '[[ $rc == 0 && ! -s $tmp/bn.err ]] && grep -q "^crc32c: ok$" "$tmp/bn.out" && grep -q "^crc32c.checked: .*/model, /state, .*/ranks/state (4 rows each)" "$tmp/bn.out"' \
      "ckpt inspect of the intact dpsgd+BatchNorm checkpoint $f: rc $rc: $(head -2 "$tmp/bn.err")"
  else
    check '[[ $rc == 2 && $(wc -l <"$tmp/bn.err") == 1 ]] && ! grep -q "^crc32c" "$tmp/bn.out" && grep -q "^salient ckpt: checkpoint .$f.: $want" "$tmp/bn.err"' \
      "ckpt inspect of $f (want rc 2 and '$want'): rc $rc: $(head -2 "$tmp/bn.err") $(grep crc32c "$tmp/bn.out")"
  fi
done

# --- docs/checkpoint-format.md names every group, dataset and attribute h5dump shows ---
h5dump -H "$tmp/c1/ckpt/latest" >"$tmp/h5.centralized" 2>&1
for name in $(cat "$tmp"/h5.* | sed -n 's/.*\(ATTRIBUTE\|DATASET\|GROUP\) "\([^"]*\)".*/\2/p' | sort -u |
              grep -vxE '/|fc[0-9]+|weight|bias'); do
  check 'grep -qE "[\`/]$name[\`/]" "$src/docs/checkpoint-format.md"' \
    "docs/checkpoint-format.md does not mention '$name' (h5dump shows it)"
done
check 'grep -q "/ranks/residual" "$tmp/h5.allreduce" 2>/dev/null || grep -q "\"residual\"" "$tmp/h5.allreduce"' \
  "allreduce+topk checkpoint lacks /ranks/residual"

# --- resumes that would change the math are refused, naming what differs ---
mpirun -np 3 "$bin" train "$smoke" "${d[@]}" --set run.rounds=7 --out "$tmp/d2" --resume latest 2>"$tmp/np.err"
rc=$?
check '[[ $rc != 0 && $(grep -c "holds the state of 4 ranks.*mpirun -np 4" "$tmp/np.err") == 1 ]]' \
  "dpsgd resume on 3 of 4 ranks: rc $rc: $(tail -1 "$tmp/np.err")"
"$bin" train "$smoke" "${c[@]}" --set train.lr=0.02 --out "$tmp/c2" --resume "$tmp/c1/ckpt/round-000002.h5" 2>"$tmp/lr.err"
rc=$?
check '[[ $rc == 2 && $(wc -l <"$tmp/lr.err") == 1 ]] && grep -q "\[train\] lr = 0.01, not 0.02" "$tmp/lr.err"' \
  "changed lr: rc $rc: $(cat "$tmp/lr.err")"
"$bin" train "$smoke" "${c[@]}" --out "$tmp/c2" --resume latest 2>"$tmp/done.err"
rc=$?
check '[[ $rc == 2 ]] && grep -q "nothing to resume.*round 4.*rounds = 4" "$tmp/done.err"' "resume of a finished run: $(cat "$tmp/done.err")"
"$bin" train "$smoke" "${c[@]}" --out "$tmp/none" --resume latest 2>"$tmp/none.err"
rc=$?
check '[[ $rc != 0 ]] && grep -q "no checkpoint at .*none/ckpt/latest" "$tmp/none.err"' "resume without checkpoint: $(cat "$tmp/none.err")"

# --- damaged files: one line naming the file, no crash; the previous checkpoint still works ---
good="$tmp/c1/ckpt/round-000003.h5"
size=$(stat -c %s "$good")
cp "$good" "$tmp/trunc.h5" && truncate -s $((size / 2)) "$tmp/trunc.h5"
cp "$good" "$tmp/flip.h5"
off=$(h5dump -p -H -d /model/fc1/weight "$good" | sed -n 's/.*OFFSET \([0-9]*\).*/\1/p')
printf '\x7f\x7f\x7f\x7f' | dd of="$tmp/flip.h5" bs=1 seek=$((off + 1000)) conv=notrunc 2>/dev/null
echo "not a checkpoint" >"$tmp/text.h5"
h5copy -i "$good" -o "$tmp/foreign.h5" -s /model -d /model 2>/dev/null
for bad in trunc:"truncated or damaged" flip:"fails the CRC-32C of its seal" text:"not an HDF5 file" \
           foreign:"not a salient checkpoint"; do
  name=${bad%%:*} want=${bad#*:}
  "$bin" train "$smoke" "${c[@]}" --out "$tmp/c3" --resume "$tmp/$name.h5" 2>"$tmp/$name.err"
  rc=$?
  check '[[ $rc == 2 && $(wc -l <"$tmp/$name.err") == 1 ]] && grep -q "$tmp/$name.h5.*$want" "$tmp/$name.err"' \
    "$name: rc $rc (want 2), message: $(head -2 "$tmp/$name.err")"
  "$bin" ckpt inspect "$tmp/$name.h5" >/dev/null 2>"$tmp/$name.ierr"
  rc=$?
  check '[[ $rc == 2 && $(wc -l <"$tmp/$name.ierr") == 1 ]]' "ckpt inspect $name: rc $rc: $(head -2 "$tmp/$name.ierr")"
done
# the seal leaves the rows of /ranks out (each has its own CRC): a changed row is caught by
# that row's CRC, which shows the seal's ranges are where the rows are
dp=$(readlink -f "$tmp/d2/ckpt/latest")
off=$(h5dump -p -H -d /ranks/weights "$dp" | sed -n 's/.*OFFSET \([0-9]*\).*/\1/p')
n=$(h5dump -H -d /ranks/weights "$dp" | sed -n 's/.*DATASPACE *SIMPLE *{ *( *[0-9]*, *\([0-9]*\) ).*/\1/p')
cp "$dp" "$tmp/row.h5"
printf '\x7f\x7f\x7f\x7f' | dd of="$tmp/row.h5" bs=1 seek=$((off + 4 * n + 8)) conv=notrunc 2>/dev/null
"$bin" ckpt inspect "$tmp/row.h5" >/dev/null 2>"$tmp/row.err"
check 'grep -q "row 1 of /ranks/weights fails its CRC-32C" "$tmp/row.err"' \
  "a changed row of /ranks/weights (offset $off, $n per row): $(cat "$tmp/row.err")"
"$bin" train "$smoke" "${c[@]}" --out "$tmp/c3" --resume "$good" 2>"$tmp/good.err"
rc=$?
check '[[ $rc == 0 ]]' "the previous checkpoint no longer resumes: $(tail -1 "$tmp/good.err")"

# --- SIGUSR1 and SIGTERM: finish the round, checkpoint, exit 0, say how to resume; resuming
# (to a total of the stopped round + 2) equals a run of that many rounds never stopped ---
s=(--set train.algorithm=dpsgd --set data.clients=6 --set checkpoint.every=0)
sigs=(USR1 TERM)
[[ $san == 1 ]] && sigs=(TERM)
for sig in "${sigs[@]}"; do
  rm -rf "$tmp/s1" "$tmp/s2"
  mpirun -np 3 "$bin" train "$smoke" "${s[@]}" --set run.rounds=100000 --out "$tmp/s1" 2>"$tmp/s1.err" &
  pid=$!
  for _ in $(seq 300); do [[ -s $tmp/s1/metrics.csv ]] && break; sleep 0.1; done
  if [[ $sig == TERM ]]; then # as srun/scancel do: the signal reaches every rank
    pkill -TERM -f "^$bin train $smoke .*$tmp/s1\$"
  else
    kill -USR1 $pid             # mpirun forwards SIGUSR1 to the ranks
  fi
  wait $pid
  rc=$?
  stopped=$(sed -n 's/^salient: SIG[A-Z0-9]*: stopped after round \([0-9]*\) of 100000$/\1/p' "$tmp/s1.err")
  check '[[ $rc == 0 && -n $stopped ]] && grep -q "run the same command with --resume latest" "$tmp/s1.err"' \
    "SIG$sig: rc $rc: $(tail -2 "$tmp/s1.err" | tr '\n' ' ')"
  [[ -n $stopped ]] || continue
  check '[[ $(readlink "$tmp/s1/ckpt/latest") == $(printf "round-%06d.h5" "$stopped") && ! -e $tmp/s1/summary.json ]]' \
    "SIG$sig: no checkpoint of round $stopped (or a summary.json of an unfinished run)"
  total=$((stopped + 2))
  mpirun -np 3 "$bin" train "$smoke" "${s[@]}" --set run.rounds=$total --out "$tmp/s1" --resume latest 2>/dev/null
  mpirun -np 3 "$bin" train "$smoke" "${s[@]}" --set run.rounds=$total --out "$tmp/s2" 2>/dev/null
  same_run "$tmp/s2" "$tmp/s1" "SIG$sig then resume"
done

# --- a rank that cannot act on SIGTERM (here: held in a 5 s evaluation, SALIENT_FAULT=
# slow-eval:all) is ended by a second SIGTERM 2 s or more after the first: exit 143 at once with
# one line; copies of one signal (the same signal twice within milliseconds) count once ---
rm -rf "$tmp/s3"
SALIENT_FAULT=slow-eval:all "$bin" train "$smoke" --set run.rounds=3 --out "$tmp/s3" 2>"$tmp/s3.err" &
pid=$!
for _ in $(seq 300); do grep -q "^round 0/\|parameters" "$tmp/s3.err" && break; sleep 0.1; done
sleep 1 # inside the first evaluation (5 s)
kill -TERM $pid; kill -TERM $pid # a copy: counts once
sleep 2.5
kill -0 $pid 2>/dev/null
alive=$?
check '[[ $alive == 0 ]]' "a copy of SIGTERM ended the run: $(tail -1 "$tmp/s3.err")"
t0=$(date +%s.%N)
kill -TERM $pid
wait $pid
rc=$?
dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
check '[[ $rc == 143 ]] && awk -v d="$dt" "BEGIN { exit !(d < 1.5) }" && grep -q "^salient: a second stop signal: the first was not acted on (blocked?); exiting now, without a checkpoint$" "$tmp/s3.err"' \
  "a second SIGTERM: rc $rc (want 143) after $dt s: $(tail -2 "$tmp/s3.err" | tr '\n' ' ')"

finish cli_ckpt
