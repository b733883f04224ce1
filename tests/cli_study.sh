#!/usr/bin/env bash
# cli_study.sh - salient compare as a study: a grid over config keys with an invalid combination
# skipped, --seeds 2 with the mean and spread recomputed here from the runs, each seed the run
# `salient train` gives with that seed, centralized beside fedavg on 2 ranks, the numbers in
# their shortest exact form, a study killed mid-run and finished with --resume (the finished
# runs kept byte for byte, the resumed one equal to an uninterrupted one), --point and
# --gather, and scripts/plot-compare's four figures. Usage: cli_study.sh SALIENT SRCDIR
bin=$1 src=$2
source "$(dirname "$0")/lib.sh"
smoke="$src/jobs/configs/smoke.ini"
base=(--set data.clients=4 --set run.rounds=2 --set data.synth_train=256 --set data.synth_test=128)

# --- a grid: fedavg and centralized x method x density, 2 seeds, on 2 ranks ---
st=$tmp/st
mpirun -np 2 "$bin" compare "$smoke" "${base[@]}" --algorithms fedavg,centralized \
  --vary sparsity.method=none,snip --vary sparsity.density=1,0.1 --seeds 2 --target 0.3 \
  --out "$st" >"$tmp/st.out" 2>"$tmp/st.err"
rc=$?
check '[[ $rc == 0 ]]' "the study failed (rc $rc): $(grep 'salient compare' "$tmp/st.err" | tail -3)"
check 'grep -q "^salient compare: skipping point 2/8 (fedavg sparsity.method=none sparsity.density=0.1): .*density = 0.1 has no effect" "$tmp/st.err"' \
  "no note for the skipped combination: $(grep skipping "$tmp/st.err")"
check '[[ $(grep -c "^salient compare: skipping" "$tmp/st.err") == 4 ]]' \
  "skipped: $(grep -c '^salient compare: skipping' "$tmp/st.err") points, want 4 (none at 0.1 twice, centralized with snip twice)"
check '[[ ! -e $st/fedavg/sparsity.method=none,sparsity.density=0.1 ]]' "a skipped point left a directory"
# progress: the point of how many, the seed, the run of how many, an ETA once a run has finished
check 'grep -q "^salient compare: point 5/8 (centralized sparsity.method=none sparsity.density=1), seed 2 (2/2): run 8/8, ETA [0-9]*:[0-9][0-9] -> " "$tmp/st.err"' \
  "progress line: $(grep 'point 5/8' "$tmp/st.err")"
check 'grep -q "^salient compare: point 1/8 .*run 1/8, ETA - -> " "$tmp/st.err"' "first progress line: $(grep -m1 'point 1/8' "$tmp/st.err")"
# centralized joins the 2-rank study on one rank
c1=$st/centralized/sparsity.method=none,sparsity.density=1/seed1
check 'grep -q "\"ranks\": 1" "$c1/summary.json"' "centralized: $(cat "$c1/summary.json" 2>/dev/null | head -c 200)"

# --- summary.csv: one row per point, mean and std over the seeds as runs.csv has them ---
sum=$st/summary.csv runs=$st/runs.csv
check '[[ $(head -1 "$sum") == point,algorithm,sparsity.method,sparsity.density,n_seeds,final_acc_mean,final_acc_std,best_acc_mean,best_acc_std,client_acc_mean_mean,client_acc_mean_std,client_acc_min_mean,client_acc_min_std,n_reached,rounds_to_target_mean,bytes_to_target_mean,time_to_target_s_mean,bytes_total_mean,wall_s_mean,wall_s_std,compute_s_mean,comm_s_mean,dir ]]' \
  "summary.csv header: $(head -1 "$sum")"
want="fedavg sparsity.method=none sparsity.density=1|fedavg sparsity.method=snip sparsity.density=1|fedavg sparsity.method=snip sparsity.density=0.1|centralized sparsity.method=none sparsity.density=1|"
check '[[ $(cut -d, -f1 "$sum" | tail -n +2 | tr "\n" "|") == "$want" ]]' "summary.csv points: $(cut -d, -f1 "$sum" | tr '\n' '|')"
check '[[ $(cut -d, -f5 "$sum" | tail -n +2 | sort -u) == 2 && $(tail -n +2 "$runs" | wc -l) == 8 ]]' \
  "n_seeds $(cut -d, -f5 "$sum" | tail -n +2 | tr '\n' ' '), runs.csv rows $(tail -n +2 "$runs" | wc -l)"
# final accuracy of every run = the last evaluated test_acc of its metrics.csv
bad_final=""
# and its clients' mean accuracy that round's client_acc_mean (none for centralized)
while IFS=, read -r _ _ _ _ _ final _ cmean _ _ _ _ _ _ _ _ dir; do
  last=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "client_acc_mean") c = i; next }
    $2 != "" { a = $2; m = c ? $c : "" } END { print a "/" m }' "$st/$dir/metrics.csv")
  [[ $final/$cmean == "$last" ]] || bad_final+="$dir: $final/$cmean vs $last; "
  [[ $dir == centralized* || -n $cmean ]] || bad_final+="$dir: no client_acc_mean; "
done < <(tail -n +2 "$runs")
check '[[ -z $bad_final ]]' "runs.csv final_acc/client_acc_mean differ from metrics.csv: $bad_final"
# mean and sample std (n - 1) per point, recomputed from runs.csv, to 1e-12 relative
cmpstats=$(awk -F, 'FNR == 1 { next } NR == FNR { k = $1; n[k]++; s[k] += $6; x[k, n[k]] = $6; next }
  { k = $1; m = s[k] / n[k]; v = 0; for (i = 1; i <= n[k]; i++) v += (x[k, i] - m) ^ 2; sd = sqrt(v / (n[k] - 1))
    if ((m - $6) ^ 2 > (1e-12 * m) ^ 2 || (sd - $7) ^ 2 > (1e-12 * sd + 1e-15) ^ 2) print k ": mean " $6 " vs " m ", std " $7 " vs " sd }' "$runs" "$sum")
check '[[ -z $cmpstats ]]' "summary.csv statistics differ from runs.csv's: $cmpstats"
check 'awk -F, "NR > 1 && \$7 == \"\" { exit 1 }" "$sum"' "an empty final_acc_std with 2 seeds"
check 'awk -F, "NR > 1 && \$7 <= 0 && \$1 ~ /^fedavg/ { exit 1 }" "$sum"' "fedavg's two seeds gave the same final accuracy: $(cut -d, -f1,6,7 "$sum")"
# --- the number format: every number of the tables in its shortest form that reads back ---
# (no padding zeros, no exponent from 1e-4 up to 1e15 - %g's own switch below 1e-4 stays: it
# is the shorter form there - integers without a point): sal_fmt_num's
badnum=$(cat "$sum" "$runs" | awk -F, 'NR > 1 { for (i = 1; i <= NF; i++) if ($i ~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/ &&
  ($i ~ /\.[0-9]*0$/ || $i ~ /\.$/ || $i ~ /^-?0[0-9]/ || ($i ~ /[eE]/ && ($i + 0 >= 1e-4 || $i + 0 <= -1e-4)))) print $i }' | head -5)
check '[[ -z $badnum ]]' "numbers not in the shortest form: $badnum"
# and exact: each mean is the double nearest the mean of the runs' values as read back
check '[[ $(awk -F, "NR == 2 { printf \"%.17g\", \$6 + 0 }" "$sum") == $(awk -F, "NR > 1 && \$1 == \"fedavg sparsity.method=none sparsity.density=1\" { s += \$6; n++ } END { printf \"%.17g\", s / n }" "$runs") ]]' \
  "final_acc_mean is not the exact mean: $(sed -n 2p "$sum" | cut -d, -f1,6)"

# --- a seed is the run salient train makes with that seed (same split, same client samples) ---
mpirun -np 2 "$bin" train "$smoke" "${base[@]}" --set train.algorithm=fedavg --set run.seed=2 \
  --out "$tmp/t2" 2>/dev/null
check 'cmp -s <(cut -d, -f1-7 "$tmp/t2/metrics.csv") <(cut -d, -f1-7 "$st/fedavg/sparsity.method=none,sparsity.density=1/seed2/metrics.csv")' \
  "the study's seed-2 fedavg run differs from salient train with run.seed = 2"
check '! cmp -s <(cut -d, -f2 "$st/fedavg/sparsity.method=snip,sparsity.density=0.1/seed1/metrics.csv") <(cut -d, -f2 "$st/fedavg/sparsity.method=snip,sparsity.density=0.1/seed2/metrics.csv")' \
  "seeds 1 and 2 gave the same accuracies"

# --- the figures ---
if command -v gnuplot >/dev/null; then
  "$src/scripts/plot-compare" "$st" >"$tmp/plot.out" 2>&1
  rc=$?
  check '[[ $rc == 0 ]]' "plot-compare failed: $(cat "$tmp/plot.out")"
  for f in accuracy_round accuracy_bytes accuracy_time final_accuracy; do
    png=$st/$f.png
    check '[[ $(head -c 8 "$png" 2>/dev/null | od -An -tx1 | tr -d " \n") == 89504e470d0a1a0a && $(stat -c %s "$png") -gt 15000 ]]' \
      "$f.png: not a PNG with content ($(stat -c %s "$png" 2>/dev/null) bytes)"
  done
  check '[[ $(md5sum "$st"/*.png | cut -d" " -f1 | sort -u | wc -l) == 4 ]]' "two figures are the same image"
else
  skip_part "cli_study: the figures (no gnuplot; apt-get install gnuplot-nox)"
fi

# --- killed mid-study, then --resume: rank 0 dies (SIGKILL) as round 3 starts, in point 2's
# first run; point 1 (1 round) has finished both seeds by then ---
r=$tmp/res
rargs=("$smoke" "${base[@]}" --algorithms allreduce --vary run.rounds=1,3 --seeds 2)
SALIENT_KILL_AT_ROUND=3 mpirun -np 2 "$bin" compare "${rargs[@]}" --out "$r" >/dev/null 2>"$tmp/res1.err"
rc=$?
p1=$r/allreduce/run.rounds=1 p2=$r/allreduce/run.rounds=3
check '[[ $rc != 0 && -s $p1/seed1/summary.json && -s $p1/seed2/summary.json && -s $p2/seed1/metrics.csv && ! -e $p2/seed1/summary.json ]]' \
  "the kill did not leave point 1 done and point 2 unfinished (rc $rc): $(find "$r" -name summary.json | tr '\n' ' ')"
before=$(md5sum "$p1"/seed*/metrics.csv "$p1"/seed*/summary.json)
mpirun -np 2 "$bin" compare "${rargs[@]}" --out "$r" >/dev/null 2>"$tmp/res2.err"
rc=$?
check '[[ $rc == 2 ]] && grep -q "already holds a study (study.ini); continue it with --resume" "$tmp/res2.err"' \
  "a second start without --resume (rc $rc): $(tail -1 "$tmp/res2.err")"
mpirun -np 2 "$bin" compare "${rargs[@]}" --out "$r" --resume >"$tmp/res3.out" 2>"$tmp/res3.err"
rc=$?
check '[[ $rc == 0 ]] && grep -q "^salient compare: 2 of 4 runs already finished in .*; running the other 2$" "$tmp/res3.err"' \
  "--resume (rc $rc): $(grep 'salient compare' "$tmp/res3.err" | head -3)"
check '[[ $(md5sum "$p1"/seed*/metrics.csv "$p1"/seed*/summary.json) == "$before" ]]' "--resume touched the finished runs"
check '[[ $(awk -F, "NR > 1 { print \$4 }" "$r/summary.csv" | tr "\n" " ") == "2 2 " ]]' "after --resume: $(cat "$r/summary.csv")"

# --- --point 2 of the same study in a fresh directory, then --gather; the resumed run equals it ---
g=$tmp/pt
mpirun -np 2 "$bin" compare "${rargs[@]}" --point 2 --out "$g" >/dev/null 2>"$tmp/pt.err"
rc=$?
check '[[ $rc == 0 && -s $g/allreduce/run.rounds=3/seed2/summary.json && ! -e $g/allreduce/run.rounds=1 && ! -e $g/summary.csv ]]' \
  "--point 2 (rc $rc): $(tail -2 "$tmp/pt.err"); $(ls "$g" "$g/allreduce" 2>&1 | tr '\n' ' ')"
"$bin" compare "${rargs[@]}" --gather --out "$g" >/dev/null 2>"$tmp/ga.err"
rc=$?
check '[[ $rc == 0 && $(tail -n +2 "$g/summary.csv" | cut -d, -f1,4) == "allreduce run.rounds=3,2" ]]' \
  "--gather on 1 rank (rc $rc): $(tail -2 "$tmp/ga.err"); $(cat "$g/summary.csv" 2>/dev/null)"
check 'cmp -s <(cut -d, -f1-7 "$g/allreduce/run.rounds=3/seed1/metrics.csv") <(cut -d, -f1-7 "$p2/seed1/metrics.csv")' \
  "the run --resume redid differs from an uninterrupted one"
# --- under Slurm: jobs/compare-study.sh --vary submits salient compare's own study, one array
# task per point as salient compare --list numbers them, then a gather job (a stub sbatch
# records what would be submitted; tests/cli_slurm.sh runs real Slurm jobs) ---
mkdir -p "$tmp/fake"
printf '#!/usr/bin/env bash\necho "$*" >>"%s/fake/calls"\necho $((100 + $(wc -l <"%s/fake/calls")))\n' "$tmp" "$tmp" >"$tmp/fake/sbatch"
chmod +x "$tmp/fake/sbatch"
PATH=$tmp/fake:$PATH SALIENT_BIN=$bin "$src/jobs/compare-study.sh" --ntasks 2 --out "$tmp/cs" "${rargs[@]}" >"$tmp/cs.out" 2>&1
rc=$?
check '[[ $rc == 0 ]] && grep -q "^compare-study.sh:   task 101_2: allreduce run.rounds=3$" "$tmp/cs.out"' "compare-study.sh --vary (rc $rc): $(cat "$tmp/cs.out")"
check 'grep -q -- "--array=1-2 .*jobs/study.sbatch .*--vary run.rounds=1,3 --seeds 2 --out $tmp/cs$" "$tmp/fake/calls" &&
  grep -q -- "--dependency=afterany:101 .*jobs/study.sbatch --gather .*--seeds 2 --out $tmp/cs$" "$tmp/fake/calls"' \
  "compare-study.sh submitted: $(cat "$tmp/fake/calls" 2>/dev/null)"
finish cli_study
