#!/usr/bin/env bash
# cli_schedule.sh - [sparsity] schedule = imp | lrr | sculpt (src/sparsity/schedule.c) in
# centralized and fedavg runs: every prune keeps exactly round(prunable x d^(k/C)) weights and the
# last exactly density's count; pruned weights are zero and IMP's rewind restores the saved
# weights bit for bit (checkpoints, h5py) and the saved round's learning rate, and with BatchNorm
# the running statistics saved with them (centralized and fedavg); ckpt inspect tells where the
# schedule stands; the new mask is in the round's bytes_down; Rand-k uploads follow the mask's
# nnz across prunes (bytes, 2 vs 3 ranks, resume); a SCULPT run whose prune prunes nothing
# equals training the fixed mask (constant lr) and LRR that prunes nothing (cosine lr, restarted
# each cycle); a run killed
# mid-schedule and resumed equals an uninterrupted one; bad keys fail with one line.
# Usage: cli_schedule.sh SALIENT SRCDIR
bin=$1 src=$2
source "$(dirname "$0")/lib.sh"
smoke="$src/jobs/configs/smoke.ini"
py=/usr/bin/python3 # Debian's h5py lives beside the system Python
fed=(--set train.algorithm=fedavg --set data.clients=10 --set data.partition=dirichlet
     --set data.alpha=0.5 --set train.sample_fraction=0.5)
imp=(--set sparsity.schedule=imp --set sparsity.cycles=2 --set sparsity.cycle_rounds=2
     --set sparsity.rewind_round=1 --set sparsity.density=0.1 --set train.lr_schedule=cosine
     --set run.rounds=4 --set checkpoint.every=1 --set checkpoint.keep=10)
cols() { cut -d, -f1-7,12 "$1/metrics.csv"; } # round .. bytes_down, lr: not timing
col() { sed -n "$(($2 + 2))p" "$1/metrics.csv" | cut -d, -f"$3"; } # col DIR ROW FIELD (row 0 = first)
# the prune lines: "salient: round D: KIND prune k/C: K of N prunable weights kept ..."
kept_of() { sed -n "s/.* prune $2\/[0-9]*: \([0-9]*\) of [0-9]* prunable.*/\1/p" "$1"; }
prunable_of() { sed -n 's/.* prune 1\/[0-9]*: [0-9]* of \([0-9]*\) prunable.*/\1/p' "$1"; }

# --- refused configs: one line each, exit 2, nothing trained ---
refuse() { # refuse WHAT PATTERN ARGS...
  local what=$1 pat=$2; shift 2
  "$bin" train "$smoke" --out "$tmp/refused" "$@" >"$tmp/r.out" 2>"$tmp/r.err"
  local rc=$? lines
  lines=$(grep -c . "$tmp/r.err")
  check '[[ $rc == 2 && $lines == 1 ]] && grep -q -- "$pat" "$tmp/r.err"' \
    "$what: rc $rc, $lines lines: $(head -2 "$tmp/r.err" | tr '\n' ' ')"
}
refuse "imp under allreduce" "algorithm = centralized or fedavg" --set train.algorithm=allreduce \
  --set data.clients=1 --set sparsity.schedule=imp --set sparsity.density=0.5 --set run.rounds=3
refuse "cycles past the rounds" "raise rounds above 4" --set sparsity.schedule=lrr \
  --set sparsity.cycles=2 --set sparsity.cycle_rounds=2 --set sparsity.density=0.5 --set run.rounds=4
refuse "rewind_round with lrr" "rewind_round applies to schedule = imp" \
  --set sparsity.schedule=lrr --set sparsity.rewind_round=1 --set sparsity.cycle_rounds=2 \
  --set sparsity.density=0.5 --set run.rounds=3
refuse "rewind_round past a cycle" "must be below" --set sparsity.schedule=imp \
  --set sparsity.rewind_round=2 --set sparsity.cycle_rounds=2 --set sparsity.density=0.5 \
  --set run.rounds=3
refuse "start_density with fixed" "leave them at their defaults" --set sparsity.start_density=0.5
refuse "density above start_density" "a schedule only prunes" "${fed[@]}" \
  --set sparsity.method=random --set sparsity.schedule=sculpt --set sparsity.start_density=0.2 \
  --set sparsity.density=0.5 --set run.rounds=3

# --- centralized IMP: exact counts, zeroed and rewound weights, the rewound lr ---
"$bin" train "$smoke" "${imp[@]}" --out "$tmp/c" >"$tmp/c.out" 2>"$tmp/c.err"
rc=$?
check '[[ $rc == 0 ]]' "centralized imp failed: $(tail -2 "$tmp/c.err")"
N=$(prunable_of "$tmp/c.err") n=266610
check '[[ $N == 266200 ]]' "prunable weights '$N', expected mlp's 266200"
# after prune k of C: round(N x 0.1^(k/C)) exactly (awk's printf rounds half to even; the
# values here are not halves)
for k in 1 2; do
  want=$(awk -v N="$N" -v k=$k 'BEGIN { printf "%.0f", N * 0.1 ^ (k / 2) }')
  check '[[ $(kept_of "$tmp/c.err" $k) == "$want" ]]' \
    "centralized prune $k kept '$(kept_of "$tmp/c.err" $k)', expected $want"
done
# the last round trains at density's count: (round(0.1 N) + biases) / n
want=$(awk -v N="$N" -v n=$n 'BEGIN { printf "%.10f", (int(0.1 * N + 0.5) + n - N) / n }')
got=$(awk -F, 'END { printf "%.10f", $5 }' "$tmp/c/metrics.csv")
check '[[ $got == "$want" ]]' "last round's density $got, expected $want"
# the lr: cycle 2 replays round 2's lr (the rewind round is 1), the final phase too
check '[[ $(col "$tmp/c" 2 12) == $(col "$tmp/c" 1 12) && $(col "$tmp/c" 3 12) == $(col "$tmp/c" 1 12) ]]' \
  "imp lr after the rewinds $(col "$tmp/c" 2 12), $(col "$tmp/c" 3 12), not round 2's $(col "$tmp/c" 1 12)"
if $py -c "import h5py, numpy" 2>/dev/null; then
  # ckpt 1 holds the weights after round 1 (the rewind point); ckpt 2 (after the first prune)
  # holds them in /schedule/rewind and, masked, in /model; pruned weights are exactly 0
  $py - "$tmp/c/ckpt" >"$tmp/h5.out" 2>&1 <<'EOF'
import sys, h5py, numpy as np
d = sys.argv[1]
def flat(f, root):
    out = []
    f[root].visititems(lambda name, o: out.append((o.attrs["offset"], o[()].ravel()))
                       if isinstance(o, h5py.Dataset) else None)
    return np.concatenate([a for _, a in sorted(out, key=lambda t: t[0])])
a, b, c = (h5py.File(f"{d}/round-00000{r}.h5", "r") for r in (1, 2, 3))
w1, rw2, w2, m2 = flat(a, "model"), flat(b, "schedule/rewind"), flat(b, "model"), flat(b, "mask")
bad = []
if rw2.tobytes() != w1.tobytes(): bad.append("rewind weights differ from round 1's model")
if w2[m2 == 1].tobytes() != w1[m2 == 1].tobytes() or np.any(w2[m2 == 0] != 0):
    bad.append("round 2's model is not round 1's model masked")
if np.any(flat(c, "model")[flat(c, "mask") == 0] != 0): bad.append("pruned weights not zero")
if "rewind_state" in b["schedule"]: bad.append("an MLP (no state) has /schedule/rewind_state")
if list(b["schedule/state"][()]) != [1, int(m2[:235200].sum() + m2[235500:265500].sum() + m2[265600:266600].sum()), 266200]:
    bad.append(f"state {list(b['schedule/state'][()])}")
print("; ".join(bad) if bad else "ok")
EOF
  check '[[ $(cat "$tmp/h5.out") == ok ]]' "checkpoints: $(tail -2 "$tmp/h5.out")"
  # hostile /schedule, resealed by tests/ckpt_craft.py's writer of the seal: a kept count that
  # is not the mask's behind a valid CRC, a stale CRC, no /schedule at all; each refused with
  # one line, exit 2
  for case in kept crc gone; do
    cp "$tmp/c/ckpt/round-000002.h5" "$tmp/h_$case.h5"
    $py - "$tmp/h_$case.h5" $case "$src/tests/ckpt_craft.py" <<'EOF2'
import struct, sys, h5py, numpy as np
# ckpt_craft.py's functions (crc32c, seal) without its script part, which needs its own argv
exec(open(sys.argv[3]).read().split('if sys.argv[1] == "--seed"')[0])
with h5py.File(sys.argv[1], "r+") as f:
    if sys.argv[2] == "gone":
        del f["schedule"]
    else:
        d = f["schedule/state"]
        v = d[()].copy()
        v[1] -= 1
        d[...] = v
        if sys.argv[2] == "kept":
            d.attrs["crc32c"] = np.uint32(crc32c(struct.pack("<3q", *map(int, v))))
seal(sys.argv[1])
EOF2
    "$bin" train "$smoke" "${imp[@]}" --out "$tmp/h_$case" --resume "$tmp/h_$case.h5" \
      >/dev/null 2>"$tmp/h_$case.err"
    rc=$?
    want="/schedule/state says"
    [[ $case == crc ]] && want="/schedule/state fails its CRC-32C"
    [[ $case == gone ]] && want="has no /schedule/state"
    check '[[ $rc == 2 && $(grep -c . "$tmp/h_$case.err") == 1 ]] && grep -q "$want" "$tmp/h_$case.err"' \
      "hostile /schedule ($case): rc $rc: $(tail -2 "$tmp/h_$case.err" | tr '\n' ' ')"
  done
else
  skip_part "cli_schedule: the checkpoints' rewind weights (no h5py for $py)"
fi

# --- ckpt inspect tells where the schedule stands: /schedule/state, and from the stored config
# the cycle of the next round, the next prune (round and count) and the target density ---
sched_of() { "$bin" ckpt inspect "$1" 2>&1 | grep "^schedule"; }
k1=$(kept_of "$tmp/c.err" 1) k2=$(kept_of "$tmp/c.err" 2)
d() { awk -v k="$1" -v N="$N" 'BEGIN { printf "%.6f", k / N }'; }
want1="schedule: imp
schedule.prunes_done: 0 of 2
schedule.kept: $N of $N prunable weights (density 1.000000)
schedule.cycle: 1 of 3, rounds 1-2
schedule.next_prune: after round 2, prune 1 of 2 to $k1 prunable weights (density $(d $k1))
schedule.target_density: $(d $k2) ($k2 prunable weights after the last prune)
schedule.rewind_round: 1"
want2="schedule: imp
schedule.prunes_done: 1 of 2
schedule.kept: $k1 of $N prunable weights (density $(d $k1))
schedule.cycle: 2 of 3, rounds 3-3
schedule.next_prune: after round 3, prune 2 of 2 to $k2 prunable weights (density $(d $k2))
schedule.target_density: $(d $k2) ($k2 prunable weights after the last prune)
schedule.rewind_round: 1"
check '[[ $(sched_of "$tmp/c/ckpt/round-000001.h5") == "$want1" ]]' \
  "inspect after round 1: $(sched_of "$tmp/c/ckpt/round-000001.h5" | tr '\n' '|') want $(tr '\n' '|' <<<"$want1")"
check '[[ $(sched_of "$tmp/c/ckpt/round-000002.h5") == "$want2" ]]' \
  "inspect after the first prune: $(sched_of "$tmp/c/ckpt/round-000002.h5" | tr '\n' '|') want $(tr '\n' '|' <<<"$want2")"
check 'sched_of "$tmp/c/ckpt/round-000004.h5" | grep -q "^schedule.cycle: none (all 4 rounds done)$"' \
  "inspect of the last round: $(sched_of "$tmp/c/ckpt/round-000004.h5" | tr '\n' '|')"
# inspect checks IMP's rewind point against its CRCs, as a resume does: a value of
# /schedule/rewind changed behind a seal made again (`ckpt seal` of the file without its user
# block) is refused, the unchanged file passes and says what "crc32c: ok" covered
ok2=$tmp/c/ckpt/round-000002.h5
ub=$(h5dump -B -H "$ok2" | sed -n 's/.*USERBLOCK_SIZE \([0-9]*\).*/\1/p')
off=$(h5dump -p -H -d /schedule/rewind/fc1/weight "$ok2" | sed -n 's/.*OFFSET \([0-9]*\).*/\1/p')
tail -c +$((ub + 1)) "$ok2" >"$tmp/rw.old"
printf '\x7f\x7f\x7f\x7f' | dd of="$tmp/rw.old" bs=1 seek=$((off - ub + 8)) conv=notrunc 2>/dev/null
"$bin" ckpt seal "$tmp/rw.old" "$tmp/rw.h5" >/dev/null 2>&1
"$bin" ckpt inspect "$tmp/rw.h5" >/dev/null 2>"$tmp/rw.err"
rc=$?
check '[[ $rc == 2 && $(wc -l <"$tmp/rw.err") == 1 ]] && grep -q "rw.h5.: /schedule/rewind/fc1/weight fails its CRC-32C check" "$tmp/rw.err"' \
  "inspect of a changed /schedule/rewind: rc $rc: $(head -2 "$tmp/rw.err")"
check '"$bin" ckpt inspect "$ok2" | grep -q "^crc32c.checked: .*/schedule/state, /schedule/rewind, /metrics$"' \
  "inspect of the intact file: $("$bin" ckpt inspect "$ok2" 2>&1 | grep -E "^crc32c|salient")"

# --- IMP with BatchNorm rewinds the running statistics too (OpenLTH rewinds the whole state
# dict): after the prune at round 2 the state is, bit for bit, the one saved after the rewind
# round 1, which the checkpoints hold as /schedule/rewind_state; a run resumed from round 1
# (before the rewind point is used) ends as the uninterrupted one. Centralized and fedavg. ---
bn=(--set model.arch=resnet20 --set model.norm=batch --set data.synth_train=48
    --set data.synth_test=16 --set data.clients=4 --set train.batch=16 --set sparsity.schedule=imp
    --set sparsity.cycles=1 --set sparsity.cycle_rounds=2 --set sparsity.rewind_round=1
    --set sparsity.density=0.5 --set run.rounds=3 --set checkpoint.every=1 --set checkpoint.keep=10)
if $py -c "import h5py, numpy" 2>/dev/null; then
  for alg in centralized fedavg; do
    run=(); [[ $alg == fedavg ]] && run=(mpirun -np 2)
    "${run[@]}" "$bin" train "$smoke" "${bn[@]}" --set train.algorithm=$alg --out "$tmp/bn_$alg" \
      >/dev/null 2>"$tmp/bn_$alg.err"
    rc=$?
    check '[[ $rc == 0 ]] && grep -q "imp prune 1/1: .*; weights and state rewound$" "$tmp/bn_$alg.err"' \
      "$alg resnet20-bn imp: rc $rc: $(grep -E "prune|error" "$tmp/bn_$alg.err" | tail -2)"
    $py - "$tmp/bn_$alg/ckpt" >"$tmp/bn_$alg.h5" 2>&1 <<'EOF'
import sys, h5py, numpy as np
d = sys.argv[1]
def flat(f, root):
    out = []
    f[root].visititems(lambda name, o: out.append((o.attrs["offset"], name, o[()].ravel()))
                       if isinstance(o, h5py.Dataset) else None)
    out.sort(key=lambda t: (t[0], t[1]))
    return [n for _, n, _ in out], np.concatenate([a for _, _, a in out])
a, b, c = (h5py.File(f"{d}/round-00000{r}.h5", "r") for r in (1, 2, 3))
n1, s1 = flat(a, "state")
bad = []
if not np.all(a["state/bn1/num_batches_tracked"][()] > 0): bad.append("round 1's state is untrained")
for f, r in ((b, 2), (c, 3)):
    n, rw = flat(f, "schedule/rewind_state")
    if n != n1 or rw.tobytes() != s1.tobytes(): bad.append(f"round {r}'s rewind_state is not round 1's state")
if flat(b, "state")[1].tobytes() != s1.tobytes(): bad.append("the state after the rewind is not round 1's")
if flat(c, "state")[1].tobytes() == s1.tobytes(): bad.append("round 3 did not train the state")
print("; ".join(bad) if bad else "ok")
EOF
    check '[[ $(cat "$tmp/bn_$alg.h5") == ok ]]' "$alg resnet20-bn imp rewind: $(tail -2 "$tmp/bn_$alg.h5")"
    "${run[@]}" "$bin" train "$smoke" "${bn[@]}" --set train.algorithm=$alg --out "$tmp/bn_${alg}_r" \
      --resume "$tmp/bn_$alg/ckpt/round-000001.h5" >/dev/null 2>"$tmp/bn_${alg}_r.err"
    rc=$?
    check '[[ $rc == 0 ]] && cmp -s <(cols "$tmp/bn_$alg") <(cols "$tmp/bn_${alg}_r") && h5diff -q "$tmp/bn_$alg/ckpt/latest" "$tmp/bn_${alg}_r/ckpt/latest" /state && h5diff -q "$tmp/bn_$alg/ckpt/latest" "$tmp/bn_${alg}_r/ckpt/latest" /model' \
      "$alg resnet20-bn imp resumed at round 1 differs (rc $rc): $(diff <(cols "$tmp/bn_$alg") <(cols "$tmp/bn_${alg}_r") | head -3 | tr '\n' ' ') $(tail -1 "$tmp/bn_${alg}_r.err")"
  done
  # a format 4 file of such a run has no /schedule/rewind_state (IMP rewound the weights only):
  # refused for resume in one line, not resumed with the initial statistics
  cp "$tmp/bn_centralized/ckpt/round-000001.h5" "$tmp/bn_v4.h5"
  $py - "$tmp/bn_v4.h5" "$src/tests/ckpt_craft.py" <<'EOF'
import sys, h5py, numpy as np
exec(open(sys.argv[2]).read().split('if sys.argv[1] == "--seed"')[0])
with h5py.File(sys.argv[1], "r+") as f:
    del f["schedule/rewind_state"]
    del f.attrs["world_size"]
    f.attrs.modify("format_version", np.int32(4))
    rewrite_header(f)
seal(sys.argv[1])
EOF
  "$bin" train "$smoke" "${bn[@]}" --out "$tmp/bn_v4" --resume "$tmp/bn_v4.h5" >/dev/null 2>"$tmp/bn_v4.err"
  rc=$?
  check '[[ $rc == 2 && $(grep -c . "$tmp/bn_v4.err") == 1 ]] && grep -q "format version 4: IMP rewound only the weights then" "$tmp/bn_v4.err"' \
    "a format 4 imp checkpoint with BatchNorm: rc $rc: $(head -2 "$tmp/bn_v4.err" | tr '\n' ' ')"
  # too old to resume, not damaged: inspect checks its weights' rewind point (and its state),
  # where the format 6 file has the rewind point of the state too
  rw="/state, /optim/momentum, /schedule/state, /schedule/rewind"
  for x in "bn_v4.h5|$rw, /metrics" "bn_centralized/ckpt/round-000002.h5|$rw, /schedule/rewind_state, /metrics"; do
    "$bin" ckpt inspect "$tmp/${x%%|*}" >"$tmp/bn.out" 2>&1
    rc=$?
    check '[[ $rc == 0 ]] && grep -q "^crc32c: ok$" "$tmp/bn.out" && grep -q "^crc32c.checked: .*/model, ${x#*|}$" "$tmp/bn.out"' \
      "inspect of ${x%%|*}: rc $rc: $(grep -E "^crc32c|salient" "$tmp/bn.out")"
  done
else
  skip_part "cli_schedule: IMP's BatchNorm rewind (no h5py for $py)"
fi

# --- resumed mid-schedule: killed as round 3 starts (after the first prune and rewind),
# resumed: the same metrics as without the kill ---
{ SALIENT_KILL_AT_ROUND=3 "$bin" train "$smoke" "${imp[@]}" --out "$tmp/ck" &>/dev/null; } 2>/dev/null # SIGKILL: the shell's "Killed" line too
"$bin" train "$smoke" "${imp[@]}" --out "$tmp/ck" --resume latest >/dev/null 2>"$tmp/ck.err"
rc=$?
check '[[ $rc == 0 ]] && cmp -s <(cols "$tmp/c") <(cols "$tmp/ck")' \
  "centralized imp resumed at round 2 differs (rc $rc): $(diff <(cols "$tmp/c") <(cols "$tmp/ck") | head -3 | tr '\n' ' ') $(tail -1 "$tmp/ck.err")"
# a checkpoint of a fixed run does not resume as imp (its config says schedule = fixed)
"$bin" train "$smoke" --set run.rounds=2 --set checkpoint.every=1 --out "$tmp/fx" >/dev/null 2>&1
"$bin" train "$smoke" "${imp[@]}" --out "$tmp/fx2" --resume "$tmp/fx/ckpt/round-000001.h5" \
  >/dev/null 2>"$tmp/fx.err"
rc=$?
check '[[ $rc == 2 ]] && grep -q "cannot resume from" "$tmp/fx.err"' \
  "a fixed checkpoint resumed as imp: rc $rc: $(tail -1 "$tmp/fx.err")"
check '[[ $(sched_of "$tmp/fx/ckpt/round-000001.h5") == "schedule: fixed" ]]' \
  "inspect of a fixed run: $(sched_of "$tmp/fx/ckpt/round-000001.h5" | tr '\n' '|')"

# --- fedavg IMP: counts, mask bytes in bytes_down, resumed before the first prune on another
# rank count ---
np=3
sanitized && np=2
mpirun -np $np "$bin" train "$smoke" "${fed[@]}" "${imp[@]}" --out "$tmp/f" >/dev/null 2>"$tmp/f.err"
rc=$?
check '[[ $rc == 0 ]]' "fedavg imp failed: $(tail -2 "$tmp/f.err")"
for k in 1 2; do
  check '[[ $(kept_of "$tmp/f.err" $k) == $(kept_of "$tmp/c.err" $k) ]]' \
    "fedavg prune $k kept '$(kept_of "$tmp/f.err" $k)', centralized $(kept_of "$tmp/c.err" $k)"
done
check '[[ $(sched_of "$tmp/f/ckpt/round-000002.h5") == "$want2" ]]' \
  "fedavg inspect after the first prune: $(sched_of "$tmp/f/ckpt/round-000002.h5" | tr '\n' '|')"
# rounds 2 and 3 end in a prune: 5 downloads of the round's nnz plus the mask to np-1 ranks
nnz=$(sed -n 's/.* \([0-9]*\) of [0-9]* parameters travel.*/\1/p' "$tmp/f.err")
bits=$(((n + 7) / 8))
check '[[ $(col "$tmp/f" 2 7) == $((5 * 4 * nnz + (np - 1) * bits)) ]]' \
  "fedavg round 2 bytes_down $(col "$tmp/f" 2 7), expected $((5 * 4 * nnz + (np - 1) * bits))"
up3=$(col "$tmp/f" 3 6) # round 3 uploads the first prune's nnz: 5 x 4 x (kept + biases)
check '[[ $up3 == $((5 * 4 * ($(kept_of "$tmp/f.err" 1) + n - N))) ]]' \
  "fedavg round 3 bytes_up $up3 after the first prune"
SALIENT_KILL_AT_ROUND=2 mpirun -np $np "$bin" train "$smoke" "${fed[@]}" "${imp[@]}" \
  --out "$tmp/fk" >/dev/null 2>&1
mpirun -np 2 "$bin" train "$smoke" "${fed[@]}" "${imp[@]}" --out "$tmp/fk" --resume latest \
  >/dev/null 2>"$tmp/fk.err"
rc=$?
# bytes_down of the prune rounds count the mask to (ranks - 1): compare without it
cols_nb() { cut -d, -f1-6,12 "$1/metrics.csv"; }
check '[[ $rc == 0 ]] && cmp -s <(cols_nb "$tmp/f") <(cols_nb "$tmp/fk")' \
  "fedavg imp resumed at round 1 on 2 ranks differs (rc $rc): $(diff <(cols_nb "$tmp/f") <(cols_nb "$tmp/fk") | head -3 | tr '\n' ' ') $(tail -1 "$tmp/fk.err")"

# --- Rand-k uploads across prunes (temporal decoder, the one with state): k = round(0.1 x nnz)
# of the round's mask, so bytes_up = 5 clients x k x 4 in every round; the same metrics on 2 and
# 3 ranks; resumed before the first prune (the memory saved, then reset by the prune) and after
# it, equal to the uninterrupted run ---
rk=(--set comm.compress=randk --set comm.randk_density=0.1 --set comm.randk_decoder=temporal)
rknp=(2 3)
sanitized && rknp=(2)
for np in "${rknp[@]}"; do
  mpirun -np $np "$bin" train "$smoke" "${fed[@]}" "${imp[@]}" "${rk[@]}" --out "$tmp/rk$np" \
    >/dev/null 2>"$tmp/rk$np.err"
  rc=$?
  check '[[ $rc == 0 ]]' "randk + imp on $np ranks: rc $rc: $(tail -2 "$tmp/rk$np.err")"
done
sanitized || check 'cmp -s <(cols_nb "$tmp/rk2") <(cols_nb "$tmp/rk3")' \
  "randk + imp differs on 2 and 3 ranks: $(diff <(cols_nb "$tmp/rk2") <(cols_nb "$tmp/rk3") | head -4 | tr '\n' ' ')"
# the nnz each round trains: all n, then after prune k the kept prunable weights + the biases
k1=$(kept_of "$tmp/rk2.err" 1) k2=$(kept_of "$tmp/rk2.err" 2)
for x in 1:$n 2:$n 3:$((k1 + n - N)) 4:$((k2 + n - N)); do
  r=${x%:*} z=${x#*:}
  want=$((5 * 4 * ($(awk -v z="$z" 'BEGIN { printf "%.0f", 0.1 * z }'))))
  check '[[ $(col "$tmp/rk2" $r 6) == "$want" ]]' \
    "randk + imp round $r bytes_up $(col "$tmp/rk2" $r 6), expected 5 x 4 x round(0.1 x $z) = $want"
done
for from in 1 2; do
  mpirun -np 2 "$bin" train "$smoke" "${fed[@]}" "${imp[@]}" "${rk[@]}" --out "$tmp/rkr$from" \
    --resume "$tmp/rk2/ckpt/round-00000$from.h5" >/dev/null 2>"$tmp/rkr$from.err"
  rc=$?
  check '[[ $rc == 0 ]] && cmp -s <(cols_nb "$tmp/rk2") <(cols_nb "$tmp/rkr$from")' \
    "randk + imp resumed at round $from differs (rc $rc): $(diff <(cols_nb "$tmp/rk2") <(cols_nb "$tmp/rkr$from") | head -3 | tr '\n' ' ') $(tail -1 "$tmp/rkr$from.err")"
done

# --- SCULPT whose prune prunes nothing (start_density = density) on a random mask: with a
# constant lr, the same as training the fixed mask (bytes_down aside: the mask is still sent);
# with a cosine lr, the same as LRR that prunes nothing, and the lr restarts each cycle ---
cyc=(--set sparsity.method=random --set sparsity.density=0.3 --set sparsity.cycles=2
     --set sparsity.cycle_rounds=1 --set run.rounds=3)
sc=(--set sparsity.start_density=0.3)
mpirun -np 2 "$bin" train "$smoke" "${fed[@]}" "${cyc[@]}" --set sparsity.cycles=1 \
  --set sparsity.cycle_rounds=1 --out "$tmp/fixed" >/dev/null 2>"$tmp/fixed.err" \
  || bad "fixed mask run failed: $(tail -1 "$tmp/fixed.err")"
mpirun -np 2 "$bin" train "$smoke" "${fed[@]}" "${cyc[@]}" "${sc[@]}" \
  --set sparsity.schedule=sculpt --out "$tmp/sc" >/dev/null 2>"$tmp/sc.err" \
  || bad "sculpt run failed: $(tail -1 "$tmp/sc.err")"
check 'cmp -s <(cols_nb "$tmp/fixed") <(cols_nb "$tmp/sc")' \
  "sculpt pruning nothing differs from the fixed mask: $(diff <(cols_nb "$tmp/fixed") <(cols_nb "$tmp/sc") | head -4 | tr '\n' ' ')"
check '[[ $(($(col "$tmp/sc" 2 7) - $(col "$tmp/fixed" 2 7))) == $bits ]]' \
  "sculpt's mask broadcast: bytes_down $(col "$tmp/sc" 2 7) vs $(col "$tmp/fixed" 2 7)"
if ! sanitized; then
  for s in sculpt lrr; do
    mpirun -np 2 "$bin" train "$smoke" "${fed[@]}" "${cyc[@]}" "${sc[@]}" \
      --set sparsity.schedule=$s --set train.lr_schedule=cosine --set run.rounds=4 \
      --set sparsity.cycle_rounds=1 --out "$tmp/$s" >/dev/null 2>"$tmp/$s.err" \
      || bad "$s cosine run failed: $(tail -1 "$tmp/$s.err")"
  done
  check 'cmp -s <(cols_nb "$tmp/sculpt") <(cols_nb "$tmp/lrr")' \
    "sculpt and lrr pruning nothing differ: $(diff <(cols_nb "$tmp/sculpt") <(cols_nb "$tmp/lrr") | head -4 | tr '\n' ' ')"
  # cycles of one round restart at the full lr; the final phase (rounds 3-4) decays
  check '[[ $(col "$tmp/lrr" 1 12) == $(col "$tmp/lrr" 2 12) && $(col "$tmp/lrr" 2 12) == $(col "$tmp/lrr" 3 12) && $(col "$tmp/lrr" 4 12) != $(col "$tmp/lrr" 3 12) ]]' \
    "lrr's lr does not restart: $(cut -d, -f12 "$tmp/lrr/metrics.csv" | tr '\n' ' ')"
fi
finish cli_schedule
