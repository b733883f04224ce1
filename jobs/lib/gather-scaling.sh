# shellcheck shell=bash
# jobs/lib/gather-scaling.sh - gather_scaling DIR: DIR/scaling.csv and plots from the points
# of a jobs/scaling.sh study. Needs jobs/lib/common.sh sourced first.

SCALING_HEADER=point,nodes,ranks,algorithm,rounds,round_s,compute_s,comm_s,wait_s,bytes_total,bytes_per_rank,final_test_acc,speedup,efficiency

# metrics_means FILE: mean wall_s compute_s comm_s wait_s per round over the rounds >= 2 that
# were not evaluated (round 0 and round 1 carry setup: the mask exchange, first-touch
# allocation, warm caches; an evaluated round also times the test set, which at many ranks can
# outweigh the training); failing those, rounds >= 2, then every round >= 1. Prints
# "round_s compute_s comm_s wait_s n_rounds_used".
metrics_means() {
  awk -F, '
    NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    {
      r = $(c["round"]) + 0
      evaluated = $(c["test_acc"]) != ""
      for (m = 1; m <= 3; m++) if (r >= (m == 3 ? 1 : 2) && !(m == 1 && evaluated)) {
        n[m]++; w[m] += $(c["wall_s"]); cp[m] += $(c["compute_s"])
        cm[m] += $(c["comm_s"]); wt[m] += $(c["wait_s"])
      }
    }
    END {
      m = n[1] ? 1 : n[2] ? 2 : 3
      if (!n[m]) { print "    0"; exit }
      printf "%.6g %.6g %.6g %.6g %d\n", w[m] / n[m], cp[m] / n[m], cm[m] / n[m], wt[m] / n[m], n[m]
    }' "$1"
}

# point_nodes DIR NAME: the node count the point's job ran on (its log's "on N node(s)"), else
# the count asked for in study.ini, else empty
point_nodes() {
  local dir=$1 p=$2 line job asked n=""
  line=$(grep -E "^[[:space:]]*point[[:space:]]*=[[:space:]]*${p}[[:space:]]" "$dir/study.ini" 2>/dev/null | tail -1)
  if [[ -n $line ]]; then
    read -r _ _ _ asked _ job <<<"$line"
    [[ -n $job && -f $dir/slurm-$job.out ]] &&
      n=$(sed -n 's/^train\.sbatch: job [0-9]* on \([0-9]*\) node(s).*/\1/p' "$dir/slurm-$job.out" | tail -1)
    [[ -z $n && $asked != - ]] && n=$asked
  fi
  echo "$n"
}

gather_scaling() {
  local dir=${1%/} mode rows d p s nodes ranks algo rounds bytes acc
  mode=$(jl_study_get "$dir" mode)
  mode=${mode:-strong}
  [[ $mode == strong || $mode == weak ]] || jl_die "$dir/study.ini: mode = '$mode' (strong or weak)"
  local -a m
  rows=""
  for d in "$dir"/*/; do
    d=${d%/}
    p=$(basename "$d")
    [[ -f $d/summary.json && -f $d/metrics.csv ]] || continue
    s=$(jl_json_get "$d/summary.json" ranks algorithm rounds bytes_total final_test_acc)
    IFS=$'\t' read -r ranks algo rounds bytes acc <<<"$s"
    [[ -n $ranks ]] || { echo "$JL_PROG: $d/summary.json has no ranks; skipped" >&2; continue; }
    read -r -a m <<<"$(metrics_means "$d/metrics.csv")"
    if ((${#m[@]} != 5 || m[4] == 0)); then
      echo "$JL_PROG: $d/metrics.csv has no rounds; skipped" >&2
      continue
    fi
    nodes=$(point_nodes "$dir" "$p")
    rows+="$p,${nodes},$ranks,$algo,$rounds,${m[0]},${m[1]},${m[2]},${m[3]},$bytes,$(awk -v b="$bytes" -v r="$ranks" 'BEGIN { printf "%.0f", b / r }'),$acc"$'\n'
  done
  [[ -n $rows ]] || jl_die "no point of $dir has summary.json and metrics.csv (did the runs finish? see $dir/slurm-*.out)"
  # by ranks, then nodes; speedup and efficiency against the smallest point
  printf '%s' "$rows" | sort -t, -k3,3n -k2,2n | awk -F, -v OFS=, -v mode="$mode" -v hdr="$SCALING_HEADER" '
    NR == 1 { print hdr; r0 = $3; t0 = $6 }
    {
      sp = ($6 > 0) ? t0 / $6 : 0
      eff = (mode == "strong") ? sp / ($3 / r0) : sp
      print $0, sprintf("%.4f", sp), sprintf("%.4f", eff)
    }' | jl_atomic_write "$dir/scaling.csv" || jl_die "cannot write $dir/scaling.csv"
  echo "$JL_PROG: $dir/scaling.csv ($(($(wc -l <"$dir/scaling.csv") - 1)) point(s), $mode scaling)"
  column -s, -t <"$dir/scaling.csv" 2>/dev/null || cat "$dir/scaling.csv"
  plot_scaling "$dir" "$mode"
}

plot_scaling() {
  local dir=$1 mode=$2 term data logx="" r0 rmax
  if ! term=$(jl_gnuplot_term); then
    echo "$JL_PROG: gnuplot (with png or pngcairo) not found: wrote the CSV only, no plots (Debian: apt-get install gnuplot-nox)"
    return 0
  fi
  data=$(mktemp)
  # point nodes ranks round_s compute_s comm_s wait_s MB/rank speedup efficiency ideal_speedup
  awk -F, -v mode="$mode" 'NR == 1 { next } NR == 2 { r0 = $3 }
    { printf "%s %s %s %s %s %s %s %.6f %s %s %s\n", $1, ($2 == "" ? "-" : $2), $3, $6, $7, $8, $9,
             $11 / 1e6, $13, $14, (mode == "strong" ? $3 / r0 : 1) }' "$dir/scaling.csv" >"$data"
  r0=$(awk 'NR == 1 { print $3 }' "$data")
  rmax=$(awk 'END { print $3 }' "$data")
  ((rmax >= 4 * r0)) && logx="set logscale x 2;"
  local ideal="ideal (linear)" what="round time at $r0 rank(s) / round time"
  [[ $mode == weak ]] && ideal="ideal (constant round time)"
  gnuplot <<EOF || { rm -f "$data"; echo "$JL_PROG: gnuplot failed; CSV written, plots incomplete" >&2; return 0; }
set terminal $term size 900,600 noenhanced
set grid
set key top left
set xlabel 'ranks'
set output '$dir/speedup.png'
set title '$mode scaling: speedup ($what)'
set ylabel 'speedup'
$logx
set yrange [0:*]
plot '$data' using 3:9:xtic(3) with linespoints lw 2 pt 7 title 'measured', \
     '' using 3:11 with lines dt 2 lw 1 title '$ideal'
set output '$dir/efficiency.png'
set title '$mode scaling: parallel efficiency'
set ylabel 'efficiency'
set yrange [0:1.2<*]
plot '$data' using 3:10:xtic(3) with linespoints lw 2 pt 7 title 'measured', \
     1 with lines dt 2 title 'ideal'
unset logscale x
set autoscale y
set yrange [0:*]
set xlabel 'point'
set key top right
set output '$dir/round_time.png'
set title '$mode scaling: time per round (mean over rounds >= 2)'
set ylabel 'seconds per round'
set style data histograms
set style histogram rowstacked
set style fill solid 0.85 border -1
set boxwidth 0.6
plot '$data' using 5:xtic(1) title 'compute', '' using 6 title 'communication', '' using 7 title 'wait'
set output '$dir/bytes_per_rank.png'
set title '$mode scaling: bytes moved per rank (whole run)'
set ylabel 'MB per rank'
set style histogram clustered
plot '$data' using 8:xtic(1) title 'MB per rank'
EOF
  rm -f "$data"
  echo "$JL_PROG: plots: $dir/speedup.png $dir/efficiency.png $dir/round_time.png $dir/bytes_per_rank.png"
}
