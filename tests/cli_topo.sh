#!/usr/bin/env bash
# cli_topo.sh - the `salient topo` contract: key: value lines, values against closed forms (ring,
# complete, hypercube, one-peer exponential), ScaLAPACK on 3 and 4 ranks equal to LAPACK on one
# (4096 nodes included), and bad arguments exit 2 with one line. Usage: cli_topo.sh SALIENT SRCDIR
bin=$1
source "$(dirname "$0")/lib.sh"

key() { sed -n "s/^$2: //p" "$1"; }
# |a - b| <= tol
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= t) }'; }
# one run: topo NAME ARGS... -> $tmp/NAME.out, .err, and rc in $rc (set on its own line: `x || rc=$?`
# inside a function would lose it)
topo() { local name=$1; shift; "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"; rc=$?; }

# --- help ---
topo help "$bin" topo --help
check '[[ $rc == 0 ]] && grep -q "^usage: salient topo --graph NAME --nodes N" "$tmp/help.out"' "--help"
check 'grep -q "onepeer-exponential" "$tmp/help.out" && grep -q "uniform" "$tmp/help.out"' "--help lists graphs and weights"

# --- ring, MH: lambda2 = 1/3 + 2/3 cos(2 pi / N) ---
topo ring "$bin" topo --graph ring --nodes 16
check '[[ $rc == 0 && ! -s "$tmp/ring.err" ]]' "ring failed: $(cat "$tmp/ring.err")"
for k in graph weights nodes edges min_degree max_degree diameter lambda2 spectral_gap eigensolver; do
  check 'grep -q "^$k: ." "$tmp/ring.out"' "ring: no '$k: value' line"
done
check '[[ $(grep -vc "^[a-z_0-9]*: ." "$tmp/ring.out") == 0 ]]' "ring: a line that is not key: value"
check '[[ $(key "$tmp/ring.out" nodes) == 16 && $(key "$tmp/ring.out" edges) == 16 ]]' "ring: nodes/edges"
check '[[ $(key "$tmp/ring.out" min_degree) == 2 && $(key "$tmp/ring.out" max_degree) == 2 ]]' "ring: degrees"
check '[[ $(key "$tmp/ring.out" diameter) == 8 ]]' "ring: diameter $(key "$tmp/ring.out" diameter)"
l2=$(awk 'BEGIN { printf "%.17g", 1/3 + 2/3 * cos(2 * atan2(0, -1) / 16) }')
check 'near "$(key "$tmp/ring.out" lambda2)" "$l2" 1e-12' "ring: lambda2 $(key "$tmp/ring.out" lambda2) vs $l2"
check 'near "$(key "$tmp/ring.out" spectral_gap)" "$(awk -v l="$l2" "BEGIN { printf \"%.17g\", 1 - l }")" 1e-12' "ring: spectral_gap"
check 'grep -q "^eigensolver: lapack dsyev" "$tmp/ring.out"' "ring: one rank should use LAPACK"

# --- complete, uniform 1/N: lambda2 = 0 ---
topo complete "$bin" topo --graph complete --nodes 32 --weights uniform
check '[[ $rc == 0 && $(key "$tmp/complete.out" edges) == 496 && $(key "$tmp/complete.out" diameter) == 1 ]]' \
  "complete: rc $rc, edges/diameter"
check 'near "$(key "$tmp/complete.out" lambda2)" 0 1e-12 && near "$(key "$tmp/complete.out" spectral_gap)" 1 1e-12' \
  "complete: lambda2 $(key "$tmp/complete.out" lambda2)"

# --- hypercube, MH 1/(d+1): eigenvalues 1 - 2k/(d+1), so |lambda2| = (d-1)/(d+1) ---
topo cube "$bin" topo --graph hypercube --nodes 64
check '[[ $rc == 0 && $(key "$tmp/cube.out" edges) == 192 && $(key "$tmp/cube.out" diameter) == 6 ]]' "hypercube: edges/diameter"
check '[[ $(key "$tmp/cube.out" min_degree) == 6 && $(key "$tmp/cube.out" max_degree) == 6 ]]' "hypercube: degrees"
check 'near "$(key "$tmp/cube.out" lambda2)" "$(awk "BEGIN { printf \"%.17g\", 5/7 }")" 1e-12' "hypercube: lambda2 $(key "$tmp/cube.out" lambda2)"
check 'near "$(key "$tmp/cube.out" spectral_gap)" "$(awk "BEGIN { printf \"%.17g\", 2/7 }")" 1e-12' "hypercube: spectral_gap"

# --- one-peer exponential: exact average after log2 N steps ---
topo onepeer "$bin" topo --graph onepeer-exponential --nodes 32
check '[[ $rc == 0 && $(key "$tmp/onepeer.out" period) == 5 ]]' "onepeer: period"
check 'near "$(key "$tmp/onepeer.out" period_lambda2)" 0 1e-12' "onepeer: period_lambda2 $(key "$tmp/onepeer.out" period_lambda2)"

# --- random graphs are seeded; every graph builds ---
topo er1 "$bin" topo --graph erdos-renyi --nodes 60 --p 0.2 --seed 4
topo er2 "$bin" topo --graph erdos-renyi --nodes 60 --p=0.2 --seed=4
check '[[ $rc == 0 ]] && cmp -s <(grep -v seconds "$tmp/er1.out") <(grep -v seconds "$tmp/er2.out")' "erdos-renyi: same seed, other output"
for g in "torus --nodes 12" "exponential --nodes 10" "star --nodes 9" "random-regular --nodes 30 --degree 4"; do
  topo g "$bin" topo --graph $g
  check '[[ $rc == 0 ]] && near "$(key "$tmp/g.out" spectral_gap)" 0.5 0.5' "$g: rc $rc $(cat "$tmp/g.err")"
done
topo uni "$bin" topo --graph star --nodes 9 --weights uniform
check '[[ $rc == 0 && $(key "$tmp/uni.out" weights) == uniform ]]' "star uniform"

# --- ScaLAPACK on 3 and 4 ranks agrees with LAPACK on one ---
topo r1 "$bin" topo --graph random-regular --nodes 150 --degree 5 --seed 2
for np in 3 4; do
  topo r$np mpirun -np $np "$bin" topo --graph random-regular --nodes 150 --degree 5 --seed 2
  check '[[ $rc == 0 ]] && grep -q "^eigensolver: scalapack pdsyev" "$tmp/r$np.out"' \
    "$np ranks: rc $rc, $(grep eigensolver "$tmp/r$np.out") $(head -3 "$tmp/r$np.err")"
  for k in lambda2 spectral_gap lambda_min; do
    check 'near "$(key "$tmp/r$np.out" $k)" "$(key "$tmp/r1.out" $k)" 1e-12' \
      "$np ranks: $k $(key "$tmp/r$np.out" $k) vs 1 rank $(key "$tmp/r1.out" $k)"
  done
  check 'cmp -s <(grep -v "seconds\|eigensolver\|lambda\|gap" "$tmp/r1.out") <(grep -v "seconds\|eigensolver\|lambda\|gap" "$tmp/r$np.out")' \
    "$np ranks: other structure than 1 rank"
  check '[[ $(grep -c "^nodes:" "$tmp/r$np.out") == 1 ]]' "$np ranks: more than rank 0 printed"
done
check 'grep -q "(2x2 grid" "$tmp/r4.out" && grep -q "(1x3 grid" "$tmp/r3.out"' "grid shapes"
# 4096 nodes, the size the command must handle: dense W is 128 MB, spread over 4 ranks. Release
# build only: under ASan (sanitized, tests/lib.sh) it takes the same code as the 150 nodes on
# 4 ranks above (the same 2x2 grid and block-cyclic spread, every index within int), and most
# of its time is ScaLAPACK's, which the sanitizers do not instrument
if ! sanitized; then
  topo big mpirun -np 4 "$bin" topo --graph ring --nodes 4096
  l2=$(awk 'BEGIN { printf "%.17g", 1/3 + 2/3 * cos(2 * atan2(0, -1) / 4096) }')
  check '[[ $rc == 0 && $(key "$tmp/big.out" diameter) == 2048 ]]' "ring 4096 on 4 ranks: rc $rc $(head -3 "$tmp/big.err")"
  check 'near "$(key "$tmp/big.out" lambda2)" "$l2" 1e-12' "ring 4096: lambda2 $(key "$tmp/big.out" lambda2) vs $l2"
fi

# --- bad arguments: exit 2, one line naming the problem ---
err_case() { # expected-substring args...
  local want=$1; shift
  topo e "$bin" topo "$@"
  check '[[ $rc == 2 && $(wc -l <"$tmp/e.err") == 1 && ! -s "$tmp/e.out" ]] && grep -q -- "$want" "$tmp/e.err"' \
    "'$*': rc $rc, stderr: $(cat "$tmp/e.err")"
}
err_case "unknown graph 'ringg'" --graph ringg --nodes 8
err_case "power of two" --graph hypercube --nodes 12
err_case "power of two" --graph onepeer-exponential --nodes 6
err_case "is odd" --graph random-regular --nodes 5 --degree 3
err_case "needs --degree" --graph random-regular --nodes 8
err_case "needs --p" --graph erdos-renyi --nodes 8
err_case "prime" --graph torus --nodes 13
err_case "not connected; raise p or change seed" --graph erdos-renyi --nodes 16 --p 0.05 --seed 1
err_case "--nodes is required" --graph ring
err_case "--graph is required" --nodes 8
err_case "not an integer" --graph ring --nodes 8x
err_case "not an integer" --graph ring --nodes 0
err_case "not a probability" --graph erdos-renyi --nodes 8 --p 1.5
err_case "not mh or uniform" --graph ring --nodes 8 --weights metropolis
err_case "unknown option '--nodez'" --graph ring --nodez 8
err_case "needs a value" --graph ring --nodes
# under mpirun only rank 0 speaks, and the exit status is still 2
topo mpierr mpirun -np 4 "$bin" topo --graph hypercube --nodes 12
check '[[ $rc == 2 && $(grep -c "^salient topo:" "$tmp/mpierr.err") == 1 ]]' \
  "4-rank error: rc $rc, $(grep -c "^salient topo:" "$tmp/mpierr.err") lines"

finish cli_topo
