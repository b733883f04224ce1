#!/usr/bin/env bash
# cli_bench.sh - `salient bench allreduce|pack`: the CSV header and one row per algorithm with
# sane bytes (dense 4n, masked 4 nnz, allgather 4 + 8k) on 1, 2 and 3 ranks; pack's rows; --help;
# bad arguments exit 2 with one line, also under mpirun. Usage: cli_bench.sh SALIENT SRCDIR
bin=$1
source "$(dirname "$0")/lib.sh"

# --- the CSV on 1, 2 and 3 ranks: n = 10000, density 0.01 -> k = nnz = 100 ---
for np in 1 2 3; do
  mpirun -np $np "$bin" bench allreduce --n 10000 --density 0.01 --reps 3 --warmup 1 \
    >"$tmp/a$np.csv" 2>"$tmp/a$np.err"
  rc=$?
  check '[[ $rc == 0 ]]' "bench allreduce on $np ranks failed: $(tail -3 "$tmp/a$np.err")"
  check '[[ $(head -1 "$tmp/a$np.csv") == algo,ranks,n,density,bytes,median_s ]]' \
    "$np ranks: header $(head -1 "$tmp/a$np.csv")"
  check '[[ $(cut -d, -f1 "$tmp/a$np.csv" | tail -n +2 | tr "\n" " ") == "dense ring masked masked_idx allgather recdbl auto " ]]' \
    "$np ranks: rows $(cut -d, -f1 "$tmp/a$np.csv" | tr '\n' ' ')"
  check 'awk -F, -v np=$np "NR > 1 && !(\$2 == np && \$3 == 10000 && \$4 == 0.01 && \$6 > 0 && \$6 < 10) { bad = 1 } END { exit bad }" "$tmp/a$np.csv"' \
    "$np ranks: malformed rows: $(cat "$tmp/a$np.csv")"
  check 'grep -q "auto chose" "$tmp/a$np.err"' "$np ranks: no note of auto's choice"
done
row() { grep "^$2," "$tmp/a$1.csv" | cut -d, -f5; }
check '[[ $(row 2 dense) == 40000 && $(row 2 masked) == 400 && $(row 2 masked_idx) == 400 && $(row 2 allgather) == 804 ]]' \
  "bytes on 2 ranks: $(cut -d, -f1,5 "$tmp/a2.csv" | tr '\n' ' ')"
check '[[ $(row 1 dense) == 0 && $(row 1 recdbl) == 0 ]]' "one rank moves no bytes"
# recdbl on 3 ranks: rank 1 sends its fold partner's + own union (<= 200 pairs), then the sum
check '(( $(row 3 recdbl) > 800 && $(row 3 recdbl) <= 4 + 8 * 300 + 8 * 300 ))' \
  "recdbl bytes on 3 ranks: $(row 3 recdbl)"
# --beta-coll prices bytes in MPI's collectives apart: at full density with MPI's bytes 20x
# dearer than ours, auto runs our ring (its row then sends the ring's 2 x (P-1)/P x 4n bytes)
mpirun -np 2 "$bin" bench allreduce --n 100000 --density 1 --reps 2 --warmup 1 --algos auto \
  --beta 1e-10 --beta-coll 2e-9 >"$tmp/bc.csv" 2>"$tmp/bc.err"
rc=$?
check '[[ $rc == 0 ]] && grep -q "auto chose ring;.*beta_coll 2e-09" "$tmp/bc.err" && [[ $(cut -d, -f5 "$tmp/bc.csv" | tail -1) == 400004 ]]' \
  "auto with --beta-coll 20x --beta: $(cat "$tmp/bc.err") $(cat "$tmp/bc.csv")"
mpirun -np 2 "$bin" bench allreduce --n 100000 --density 1 --reps 2 --warmup 1 --algos auto \
  --beta 1e-10 >"$tmp/bd.csv" 2>"$tmp/bd.err"
check 'grep -q "auto chose dense;.*beta_coll 1e-10" "$tmp/bd.err"' \
  "--beta-coll should default to --beta's value (then ties go to dense): $(cat "$tmp/bd.err")"
# --min-time: rounds go on past --reps until the timed calls add up to the time asked for
mpirun -np 2 "$bin" bench allreduce --n 1000 --density 0.1 --reps 2 --warmup 1 --algos recdbl \
  --min-time 0.05 >"$tmp/mt.csv" 2>"$tmp/mt.err"
rc=$?
# (more than the 2 rounds, unless a loaded machine made those 2 already last the 0.05 s)
med=$(awk -F, 'NR == 2 { print $6 }' "$tmp/mt.csv")
check '[[ $rc == 0 ]] && awk -v med="${med:-0}" "/rounds,/ { ok = (\$3 > 2 || 2 * med >= 0.05) && \$5 >= 0.05 } END { exit !ok }" "$tmp/mt.err" && [[ $(wc -l <"$tmp/mt.csv") == 2 ]]' \
  "--min-time 0.05 with --reps 2: rc $rc, $(cat "$tmp/mt.err") $(cat "$tmp/mt.csv")"

# --- pack ---
"$bin" bench pack --n 100000 --reps 3 >"$tmp/p.csv" 2>"$tmp/p.err"
rc=$?
check '[[ $rc == 0 && $(head -1 "$tmp/p.csv") == op,n,density,bytes,median_s,gb_per_s ]]' \
  "bench pack: rc $rc $(head -1 "$tmp/p.csv") $(cat "$tmp/p.err")"
check '[[ $(cut -d, -f1 "$tmp/p.csv" | tail -n +2 | tr "\n" " ") == "memcpy mask index " ]]' \
  "bench pack rows: $(cat "$tmp/p.csv")"
check 'awk -F, "NR > 1 && !(\$6 > 0) { bad = 1 } END { exit bad }" "$tmp/p.csv"' "pack GB/s: $(cat "$tmp/p.csv")"

# --- help and errors: exit 2, one line (rc is taken at once: $(...) would reset $?) ---
"$bin" bench --help >"$tmp/h.out" 2>&1
rc=$?
check '[[ $rc == 0 ]] && grep -q "algo,ranks,n,density,bytes,median_s" "$tmp/h.out" && grep -q "^bytes:" "$tmp/h.out"' \
  "bench --help: rc $rc"
experr() { # args... ; expects exit 2 and exactly one line naming $pattern
  local pattern=$1; shift
  "$bin" bench "$@" >"$tmp/e.out" 2>"$tmp/e.err"
  local rc=$?
  check '[[ $rc == 2 && $(wc -l <"$tmp/e.err") == 1 && ! -s "$tmp/e.out" ]] && grep -q -- "$pattern" "$tmp/e.err"' \
    "bench $*: rc $rc, stderr: $(cat "$tmp/e.err")"
}
experr "missing what" 
experr "unknown benchmark 'reduce'" reduce --n 10
experr "needs --n" allreduce --density 0.1
experr "needs --density" allreduce --n 100
experr "\-\-n '0' must be an integer" allreduce --n 0 --density 0.1
experr "\-\-n '1e3' must be an integer" allreduce --n 1e3 --density 0.1
experr "\-\-density '1.5' must be a number in \[0, 1\]" allreduce --n 10 --density 1.5
experr "\-\-reps 'x'" allreduce --n 10 --density 0.1 --reps x
experr "\-\-min-time '-1'" allreduce --n 10 --density 0.1 --min-time -1
experr "unknown option '--bogus'" allreduce --n 10 --density 0.1 --bogus 3
experr "\-\-seed needs a value" allreduce --n 10 --density 0.1 --seed
mpirun -np 3 "$bin" bench allreduce --n 10 --density 2 >"$tmp/m.out" 2>"$tmp/m.err"
rc=$?
check '[[ $rc != 0 && $(grep -c "salient bench:" "$tmp/m.err") == 1 && ! -s "$tmp/m.out" ]]' \
  "bad density on 3 ranks: rc $rc, $(cat "$tmp/m.err")"

finish cli_bench
