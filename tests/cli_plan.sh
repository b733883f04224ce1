#!/usr/bin/env bash
# cli_plan.sh - the `salient plan` contract: key: value lines; with a given rate (--rate) the
# predicted times follow the round model's closed forms for centralized and fedavg (all clients
# sampled, so the busiest rank is known); the busiest rank's clients follow [run] placement; a
# measured calibration runs; rank layouts, networks and bad arguments (exit 2, one line).
# Usage: cli_plan.sh SALIENT SRCDIR
bin=$1 src=$2
source "$(dirname "$0")/lib.sh"
smoke=$src/jobs/configs/smoke.ini

key() { sed -n "s/^$2: //p" "$1"; }
# |a - b| <= tol * |b|
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b; exit !(a != "" && d <= t * m + 1e-12) }'; }
plan() { local name=$1; shift; "$bin" plan "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"; rc=$?; }

plan help --help
check '[[ $rc == 0 ]] && grep -q "^usage: salient plan CONFIG.ini" "$tmp/help.out"' "--help"

# --- centralized, given rate: one round = one epoch of 512 samples at 1000/s; evaluated after
# rounds 1 and 2 (eval_every 1): 256 test samples at 4000/s ---
plan c "$smoke" --rate 1000,4000
check '[[ $rc == 0 && ! -s "$tmp/c.err" ]]' "centralized: rc $rc $(cat "$tmp/c.err")"
check '[[ $(grep -vc "^[a-z_0-9]*: ." "$tmp/c.out") == 0 ]]' "a line that is not key: value"
for k in algorithm model parameters ranks threads network calibration train_samples_per_s \
  predicted_compute_s predicted_comm_s predicted_wait_s predicted_eval_s predicted_round_s \
  predicted_setup_s rounds predicted_wall_s predicted_wall; do
  check 'grep -q "^$k: ." "$tmp/c.out"' "no '$k: value' line"
done
check 'near "$(key "$tmp/c.out" predicted_compute_s)" 0.512 1e-5' "compute $(key "$tmp/c.out" predicted_compute_s)"
check 'near "$(key "$tmp/c.out" predicted_eval_s)" 0.064 1e-5' "eval $(key "$tmp/c.out" predicted_eval_s)"
check 'near "$(key "$tmp/c.out" predicted_wall_s)" 1.152 1e-5' "wall $(key "$tmp/c.out" predicted_wall_s)"
check '[[ $(key "$tmp/c.out" calibration) == "given (--rate)" && $(key "$tmp/c.out" ranks) == 1 ]]' "centralized: calibration/ranks"

# --- fedavg on 2 nodes x 2 ranks: 3 client ranks host 6 iid clients of 512/6 samples, all
# sampled: the busiest rank trains 2 clients; its 4 transfers are comm, the other 4 its wait ---
plan f "$smoke" --set train.algorithm=fedavg --set data.clients=6 --set train.sample_fraction=1 \
  --nodes 2 --tasks-per-node 2 --network eth10 --rate 1000
check '[[ $rc == 0 ]]' "fedavg: rc $rc $(cat "$tmp/f.err")"
check '[[ $(key "$tmp/f.out" ranks) == 4 && $(key "$tmp/f.out" network) == eth10 && $(key "$tmp/f.out" busiest_rank_clients) == 2 ]]' "fedavg: layout $(grep -E "ranks|network|busiest" "$tmp/f.out" | tr '\n' ' ')"
n=$(key "$tmp/f.out" parameters)
# each rank trains 2 clients (balanced: clients r and r + 3); which two get the larger shares
# depends on the split: read it
most=$("$bin" data "$smoke" --set data.clients=6 | awk '/^client/ { on = 1; next } on && NF > 2 { s[n++] = $2 } END { m = 0; for (r = 0; r < 3; r++) { t = s[r] + s[r + 3]; if (t > m) m = t } print m }')
msg=$(awk -v n="$n" 'BEGIN { printf "%.17g", 20e-6 + 4 * n * 8e-10 * 2 }')
check 'near "$(key "$tmp/f.out" predicted_compute_s)" "$(awk -v s="$most" "BEGIN { print s / 1000 }")" 1e-5' "fedavg compute $(key "$tmp/f.out" predicted_compute_s) vs $most samples"
check 'near "$(key "$tmp/f.out" predicted_comm_s)" "$(awk -v m="$msg" "BEGIN { print 4 * m }")" 1e-5' "fedavg comm $(key "$tmp/f.out" predicted_comm_s) vs 4 x $msg"

# --- [run] placement: 10 of 100 clients (5-6 samples each) on 4 client ranks. balanced deals
# them 3, 3, 2, 2 every round, so the busiest rank trains 3 (and the most samples); block
# leaves it to the sample, which puts more on some rank in some rounds ---
for pl in balanced block; do
  plan pl$pl "$smoke" --set train.algorithm=fedavg --set data.clients=100 --set run.rounds=20 \
    --set run.placement=$pl --tasks-per-node 5 --rate 1000
  check '[[ $rc == 0 ]]' "placement=$pl: rc $rc $(cat "$tmp/pl$pl.err")"
done
kb=$(key "$tmp/plbalanced.out" busiest_rank_clients) kk=$(key "$tmp/plblock.out" busiest_rank_clients)
check '[[ $kb == 3 ]] && awk -v k="$kk" "BEGIN { exit !(k > 3) }"' \
  "busiest rank's clients: balanced $kb (want 3), block $kk (want more)"
check 'awk -v a="$(key "$tmp/plbalanced.out" predicted_compute_s)" -v b="$(key "$tmp/plblock.out" predicted_compute_s)" "BEGIN { exit !(a <= 3 * 6 / 1000 && b > a) }"' \
  "compute: balanced $(key "$tmp/plbalanced.out" predicted_compute_s) (want <= 3 x 6 samples at 1000/s), block $(key "$tmp/plblock.out" predicted_compute_s)"

# --- measured here: a short calibration, one thread ---
plan m "$smoke" --calibrate 0.2
check '[[ $rc == 0 ]] && near "$(key "$tmp/m.out" train_samples_per_s)" 1 1e12' "calibration: rc $rc $(cat "$tmp/m.err")"
check '[[ $(key "$tmp/m.out" calibration) == "measured here on 1 thread(s)" ]]' "calibration line $(key "$tmp/m.out" calibration)"

# --- the paper's configs (jobs/ssfl-paper.sh) parse and plan, on synthetic-cifar's shape: fedavg
# samples 10 of 100 clients, 5 local epochs of 20 samples each (2000 / 100) at 40/s ---
for d in cifar10 cifar100; do
  plan p$d "$src/jobs/configs/ssfl-$d-resnet18.ini" --set data.dataset=synthetic-cifar \
    --set data.synth_train=2000 --set data.synth_test=100 --nodes 2 --tasks-per-node 6 --rate 40
  check '[[ $rc == 0 && $(key "$tmp/p$d.out" model) == resnet18 && $(key "$tmp/p$d.out" rounds) == 1000 ]]' \
    "ssfl-$d-resnet18.ini: rc $rc $(cat "$tmp/p$d.err")"
  k=$(key "$tmp/p$d.out" busiest_rank_clients)
  check 'near "$(key "$tmp/p$d.out" predicted_compute_s)" "$(awk -v k="$k" "BEGIN { print k * 5 * 20 / 40 }")" 1e-4' \
    "ssfl-$d: compute $(key "$tmp/p$d.out" predicted_compute_s) vs $k clients x 5 x 20 / 40"
done

# --- bad arguments: exit 2, one line naming the problem ---
err_case() { # expected-substring args...
  local want=$1; shift
  plan e "$@"
  check '[[ $rc == 2 && $(wc -l <"$tmp/e.err") == 1 && ! -s "$tmp/e.out" ]] && grep -q -- "$want" "$tmp/e.err"' \
    "'$*': rc $rc, stderr: $(cat "$tmp/e.err")"
}
err_case "--nodes '0'" "$smoke" --nodes 0 --rate 1
err_case "expected ib100" "$smoke" --network infiniband --rate 1
err_case "--rate 'x'" "$smoke" --rate x
err_case "needs a value" "$smoke" --threads
err_case "plan writes nothing" "$smoke" --out /tmp/x --rate 1
err_case "unknown option '--bogus'" "$smoke" --bogus
err_case "runs on one rank" "$smoke" --tasks-per-node 2 --rate 1
err_case "fedavg" "$smoke" --set train.algorithm=fedavg --tasks-per-node 1 --rate 1
finish cli_plan
