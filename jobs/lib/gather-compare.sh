# shellcheck shell=bash
# jobs/lib/gather-compare.sh - gather_compare DIR: DIR/study.csv and plots from the
# DIR/density-D/ runs of `salient compare` (jobs/compare-study.sh). Needs jobs/lib/common.sh.

GC_PLOT_COMPARE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/plot-compare

gather_compare() {
  local dir=${1%/} d D body="" n=0
  local hdr="density,algorithm,final_acc,best_acc,rounds_to_target,bytes_to_target,bytes_total,wall_s,compute_s,comm_s"
  for d in "$dir"/density-*/; do
    d=${d%/}
    [[ -s $d/summary.csv ]] || continue
    D=${d##*/density-}
    # salient compare's summary.csv, found by column name: the means over its seeds (one here)
    body+=$(awk -F, -v D="$D" 'NR == 1 { sub(/\r$/, ""); for (i = 1; i <= NF; i++) c[$i] = i; next }
      NF { sub(/\r$/, ""); printf "%s,%s", D, $(c["algorithm"])
           n = split("final_acc best_acc rounds_to_target bytes_to_target bytes_total wall_s compute_s comm_s", k, " ")
           for (j = 1; j <= n; j++) printf ",%s", $(c[k[j] "_mean"])
           printf "\n" }' "$d/summary.csv")$'\n'
    n=$((n + 1))
  done
  ((n)) || jl_die "no $dir/density-*/summary.csv (did the array tasks finish? see $dir/slurm-*.out)"
  # densest first; the harness's algorithm order kept within a density
  { echo "$hdr"; printf '%s' "$body" | sort -s -t, -k1,1gr; } | jl_atomic_write "$dir/study.csv" ||
    jl_die "cannot write $dir/study.csv"
  echo "$JL_PROG: $dir/study.csv ($n density(ies), $(($(wc -l <"$dir/study.csv") - 1)) row(s))"
  column -s, -t <"$dir/study.csv" 2>/dev/null || cat "$dir/study.csv"
  plot_compare_study "$dir"
}

plot_compare_study() {
  local dir=$1 term d data piv logx="" names dens i cmd
  if ! term=$(jl_gnuplot_term); then
    echo "$JL_PROG: gnuplot (with png or pngcairo) not found: wrote the CSV only, no plots (Debian: apt-get install gnuplot-nox)"
    return 0
  fi
  # per density: accuracy vs round and vs bytes, as scripts/plot-compare draws them
  for d in "$dir"/density-*/; do
    d=${d%/}
    [[ -s $d/compare.csv ]] || continue
    if [[ -x $GC_PLOT_COMPARE ]]; then
      "$GC_PLOT_COMPARE" "$d" | sed "s/^/$JL_PROG: /" || echo "$JL_PROG: plot-compare $d failed" >&2
    else
      echo "$JL_PROG: $GC_PLOT_COMPARE not found: no per-density plots" >&2
      break
    fi
  done
  data=$(mktemp) piv=$(mktemp)
  # acc_vs_bytes: one block per algorithm (first-seen order): MB final_acc density
  awk -F, -v names="$data.names" '
    NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    {
      a = $(c["algorithm"])
      if (!(a in k)) { k[a] = ++n; order[n] = a }
      line[a] = line[a] sprintf("%.6f %s %s\n", $(c["bytes_total"]) / 1e6, $(c["final_acc"]), $(c["density"]))
    }
    END {
      for (i = 1; i <= n; i++) { printf "%s%s", line[order[i]], (i < n ? "\n\n" : ""); print order[i] > names }
    }' "$dir/study.csv" >"$data"
  mapfile -t names <"$data.names"
  rm -f "$data.names"
  awk 'NF && $1 <= 0 { z = 1 } END { exit z }' "$data" && logx="set logscale x;"
  # final_acc: algorithm, then one column per density (densest first)
  mapfile -t dens < <(awk -F, 'NR > 1 && !s[$1]++ { print $1 }' "$dir/study.csv")
  awk -F, -v dl="${dens[*]}" '
    NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    {
      a = $(c["algorithm"]); if (!(a in k)) { k[a] = ++n; order[n] = a }
      v[a, $(c["density"])] = $(c["final_acc"])
    }
    END {
      nd = split(dl, D, " ")
      for (i = 1; i <= n; i++) {
        printf "%s", order[i]
        for (j = 1; j <= nd; j++) printf " %s", ((order[i], D[j]) in v ? v[order[i], D[j]] : "NaN")
        printf "\n"
      }
    }' "$dir/study.csv" >"$piv"
  cmd="set terminal $term size 900,600 noenhanced; set grid; set key outside right top;"
  cmd+="set output '$dir/acc_vs_bytes.png'; set title 'final test accuracy vs bytes moved (labels: density)';"
  cmd+="set xlabel 'MB moved (all ranks, whole run)'; set ylabel 'final test accuracy'; $logx"
  cmd+="set offsets graph 0.05, graph 0.1, graph 0.08, graph 0.05;"
  cmd+="plot "
  for i in "${!names[@]}"; do
    cmd+="'$data' index $i using 1:2 with linespoints lw 2 pt 7 lc $((i + 1)) title '${names[$i]}', "
    cmd+="'$data' index $i using 1:2:(stringcolumn(3)) with labels offset 1,0.7 tc lt $((i + 1)) notitle"
    ((i + 1 < ${#names[@]})) && cmd+=", "
  done
  cmd+="; unset logscale x; set offsets 0, 0, 0, 0; set xtics rotate by -25; set output '$dir/final_acc.png'; set title 'final test accuracy per algorithm and density';"
  cmd+="set xlabel 'algorithm'; set yrange [0:1.05]; set style data histograms; set style histogram clustered gap 1;"
  cmd+="set style fill solid 0.85 border -1; plot "
  for i in "${!dens[@]}"; do
    ((i == 0)) && cmd+="'$piv' using $((i + 2)):xtic(1) title 'density ${dens[$i]}'" ||
      cmd+=", '' using $((i + 2)) title 'density ${dens[$i]}'"
  done
  if gnuplot -e "$cmd"; then
    echo "$JL_PROG: plots: $dir/acc_vs_bytes.png $dir/final_acc.png"
  else
    echo "$JL_PROG: gnuplot failed; CSV written, study plots incomplete" >&2
  fi
  rm -f "$data" "$piv"
}
