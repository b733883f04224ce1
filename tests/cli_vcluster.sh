#!/usr/bin/env bash
# cli_vcluster.sh - salient on a virtual cluster: jobs/vcluster/vcluster makes 5 nodes on this
# machine (network namespaces with their own hostname and address, links shaped to 1 Gb/s, one
# slurmd each; skipped, not faked, where it cannot: exit 77), then: SSFL as a batch job on 5
# nodes (a server and 4 client nodes) equals the same run under mpirun on one node (shared
# memory); the communication library's MPI tests pass on 4 nodes; D-PSGD across 4 nodes equals
# one node; the links hold the set rate and a node's rate changes while jobs run; a job
# preempted on 4 nodes requeues, resumes and ends with an uninterrupted run's metrics; the
# options --cpu-bind, --tcp-cc and --burst do what they say; an interrupted `up` and `down`
# leave no namespace, link, daemon or directory behind.
# Usage: cli_vcluster.sh SALIENT SRCDIR
bin=$1 src=$2
source "$(dirname "$0")/vcluster.sh" # a retry after Open MPI's rare crash; vcluster_up
source "$(dirname "$0")/lib.sh"
export SALIENT_BIN=$bin
bindir=$(dirname "$bin")
vc=$src/jobs/vcluster/vcluster
smoke=$src/jobs/configs/smoke.ini
train=$src/jobs/train.sbatch
name=t$(($$ % 1000000))         # namespaces $name-node1.., links $name-br, $name-v1..
cols() { cut -d, -f"$2" "$1/metrics.csv"; }

allowed0=$(cat /proc/sys/net/ipv4/tcp_allowed_congestion_control 2>/dev/null)
vcluster_up cli_vcluster 5 '"$vc" down --name "${name}x" >/dev/null 2>&1;'
check '[[ $SLURM_CONF == "$tmp/vc/slurm.conf" && -n ${OMPI_MCA_btl_tcp_if_include:-} ]]' "up printed: $up"

wait_job() {
  for _ in $(seq 900); do
    squeue -h -j "$1" 2>/dev/null | grep -q . || return 0
    sleep 0.2
  done
  return 1
}

# --- five hosts: own hostname, own address on the bridge, link shaped to 1 Gb/s ---
"$vc" status --dir "$tmp/vc" >"$tmp/status" 2>&1
rc=$?
check '[[ $rc == 0 && $(grep -c " 1gbit  *1Gbit  *1Gbit .* idle$" "$tmp/status") == 5 ]]' "status: rc $rc: $(cat "$tmp/status")"
timeout 60 srun -N5 -n5 sh -c 'echo $(hostname) $(ip -4 -o addr show eth0 | awk "{ print \$4 }")' 2>&1 | sort >"$tmp/hosts"
subnet=${OMPI_MCA_btl_tcp_if_include%.0/24}
check '[[ $(cat "$tmp/hosts") == "$(for k in 1 2 3 4 5; do echo "node$k $subnet.$((10 + k))/24"; done)" ]]' \
  "srun -N5: hostnames/addresses: $(tr '\n' ' ' <"$tmp/hosts")"

# --- Open MPI's TCP settings reach every node; large messages go in 128 KiB fragments ---
frag=$(timeout 60 srun -N5 -n5 sh -c 'ompi_info --param btl tcp --level 9 --parsable | sed -n "s/^mca:btl:tcp:param:btl_tcp_rdma_pipeline_frag_size:value://p"' 2>&1 | sort -u)
check '[[ $frag == 131072 ]]' "btl_tcp_rdma_pipeline_frag_size on the nodes: '$frag', want 131072"

# --- SSFL: server + 4 client nodes as a batch job == one node over shared memory ---
f=(--set train.algorithm=fedavg --set data.clients=8 --set train.sample_fraction=0.5
   --set sparsity.method=snip --set sparsity.density=0.1 --set run.rounds=3)
jid=$(sbatch --parsable -N5 -n5 -J ssfl "$train" "$smoke" "${f[@]}")
wait_job "$jid"
mpirun -np 5 "$bin" train "$smoke" "${f[@]}" --out "$tmp/ref-f" >/dev/null 2>&1
check 'grep -q "on 5 node(s) (node\[1-5\]), 5 ranks" runs/ssfl-$jid/slurm-$jid.out' "SSFL job not on 5 nodes: $(head -2 runs/ssfl-$jid/slurm-$jid.out 2>&1)"
check '[[ -s runs/ssfl-$jid/summary.json ]] && cmp -s <(cols runs/ssfl-$jid 1-7,12) <(cols "$tmp/ref-f" 1-7,12)' \
  "SSFL on 5 nodes differs from mpirun -np 5 on one: $(tail -3 runs/ssfl-$jid/slurm-$jid.out 2>&1 | tr '\n' ' ')"

# Under ASan (sanitized, tests/lib.sh) the next two parts are the Release build's: what they add
# to the same programs run over shared memory (mpi_allreduce_np4, mpi_gossip_np4; cli_decentral)
# is Open MPI's TCP transport between the nodes, which the sanitizers do not instrument, and
# results equal across transports. The SSFL job above and the preempted dpsgd job below still
# run salient under srun across the nodes there.
if ! sanitized; then
  # --- the communication library's tests across 4 nodes ---
  for t in mpi_allreduce mpi_gossip; do
    timeout 300 srun -N4 -n4 --mpi=pmix "$bindir/$t" >"$tmp/$t.out" 2>&1
    rc=$?
    check '[[ $rc == 0 ]] && grep -q "^$t: [0-9]* passed, 0 failed" "$tmp/$t.out"' "$t on 4 nodes: rc $rc: $(tail -3 "$tmp/$t.out" | tr '\n' ' ')"
  done

  # --- D-PSGD (ring gossip) across 4 nodes == one node. comm_timeout 60 (the math does not
  # depend on it) below the 120 s bound: a run stuck in an exchange fails with the watchdog's
  # lines naming rank, operation and round, which the failure message then shows; no such line
  # means it never reached one (launch, MPI_Init) ---
  d=(--set train.algorithm=dpsgd --set data.clients=8 --set run.rounds=3 --set run.comm_timeout=60)
  timeout 120 srun -N4 -n4 --mpi=pmix "$bin" train "$smoke" "${d[@]}" --out "$tmp/d4" >"$tmp/d4.out" 2>&1
  rc=$?
  mpirun -np 4 "$bin" train "$smoke" "${d[@]}" --out "$tmp/ref-d" >/dev/null 2>&1
  check '[[ $rc == 0 ]] && cmp -s <(cols "$tmp/d4" 1-7,12,14-16) <(cols "$tmp/ref-d" 1-7,12,14-16)' \
    "dpsgd on 4 nodes (rc $rc) differs from one node; metrics rows: $(wc -l <"$tmp/d4/metrics.csv" 2>/dev/null || echo none); last lines: $(grep -v '^round' "$tmp/d4.out" | tail -6 | tr '\n' ' ')"
fi

# Under ASan the next part, and the options and the interrupted up after the preemption, are
# the Release build's: they test the vcluster script, tc and the kernel's shaping (the one
# salient command in them, bench, runs under ASan in cli_bench).
if ! sanitized; then
  # --- the link rate: 4 MiB cannot cross a 1 Gb/s link faster than 33.5 ms; node2 set to
  # 10 Mb/s (while up) makes 256 KiB take >= 0.21 s; the burst (2 ms of rate, >= 32 KiB) and
  # noise are allowed for ---
  bench() { timeout 120 srun -N2 -n2 -w node1,node2 --mpi=pmix "$bin" bench allreduce --n "$1" --density 1 --reps 3 --algos dense 2>/dev/null | awk -F, '$1 == "dense" { print $6 }'; }
  t=$(bench 1048576)
  check 'awk -v t="$t" "BEGIN { exit !(t >= 0.028 && t < 5) }"' "4 MiB allreduce at 1gbit took '$t' s (link bound 0.0335)"
  "$vc" rate --dir "$tmp/vc" node2 10mbit 2>"$tmp/rate.err"
  rc=$?
  check '[[ $rc == 0 ]] && "$vc" status --dir "$tmp/vc" | grep -q "^node2 .* 10mbit  *10Mbit  *10Mbit "' "rate node2 10mbit: rc $rc: $(cat "$tmp/rate.err")"
  t=$(bench 65536)
  check 'awk -v t="$t" "BEGIN { exit !(t >= 0.15 && t < 10) }"' "256 KiB allreduce with node2 at 10mbit took '$t' s (link bound 0.21)"
  "$vc" rate --dir "$tmp/vc" node2 1gbit 2>/dev/null
  check '"$vc" status --dir "$tmp/vc" | grep -q "^node2 .* 1gbit  *1Gbit  *1Gbit "' "rate node2 back to 1gbit failed"
fi

# --- preemption on 4 nodes: SIGUSR1 -> checkpoint, requeue, resume, same metrics; node3's
# rate changes while it runs. Under ASan 40 rounds (checkpoint every 20): a round's compute
# there is ~7x Release's (measured: 0.18 s against 0.027 s), so 40 rounds still outlast the
# signal's delivery by seconds, as 120 do in Release; the rounds beyond are the same steps ---
p=(--set train.algorithm=dpsgd --set data.clients=8 --set run.rounds=120 --set checkpoint.every=50)
sanitized && p=(--set train.algorithm=dpsgd --set data.clients=8 --set run.rounds=40 --set checkpoint.every=20)
pid=$(sbatch --parsable -N4 -n4 -J preempt "$train" "$smoke" "${p[@]}")
for _ in $(seq 300); do [[ -s runs/preempt-$pid/metrics.csv ]] && break; sleep 0.1; done
scancel --signal=USR1 --batch "$pid"
for _ in $(seq 600); do grep -q "restart 1:" runs/preempt-$pid/slurm-$pid.out 2>/dev/null && break; sleep 0.1; done
"$vc" rate --dir "$tmp/vc" node3 100mbit 2>/dev/null && sleep 1 && "$vc" rate --dir "$tmp/vc" node3 1gbit 2>/dev/null
rc=$?
for _ in $(seq 600); do [[ -s runs/preempt-$pid/summary.json ]] && break; sleep 0.2; done
wait_job "$pid"
log=runs/preempt-$pid/slurm-$pid.out
check '[[ $rc == 0 ]]' "rate change while the job ran failed"
check 'grep -q "on 4 node(s) (node\[1-4\]), 4 ranks" "$log" && grep -q "requeueing job $pid" "$log" && grep -q "restart 1: resuming from runs/preempt-$pid/ckpt/latest" "$log"' \
  "no stop/requeue/resume on 4 nodes in the log: $(grep -v ^round "$log" | tail -4 | tr '\n' ' ')"
mpirun -np 4 "$bin" train "$smoke" "${p[@]}" --out "$tmp/ref-p" >/dev/null 2>&1
check '[[ -s runs/preempt-$pid/summary.json ]] && cmp -s <(cols runs/preempt-$pid 1-7,12,14-16) <(cols "$tmp/ref-p" 1-7,12,14-16)' \
  "preempted+requeued job on 4 nodes differs from an uninterrupted run"
check 'h5diff -q runs/preempt-$pid/ckpt/latest "$tmp/ref-p/ckpt/latest" /ranks' "final state differs"

if ! sanitized; then # (as the link rate's checks above)
  # --- --cpu-bind node: node K's ranks on the K-th allowed CPU; --tcp-cc (one this machine's
  # namespaces may not pick, where there is one: up allows it, down restores the list); --burst:
  # each end of every link's token bucket that deep, also after a rate change; bad values
  # exit 2 ---
  cc=reno
  for c in $(cat /proc/sys/net/ipv4/tcp_available_congestion_control); do
    [[ " $allowed0 " == *" $c "* ]] || { cc=$c; break; }
  done
  (
    export SLURM_CONF VCLUSTER_DIR
    out=$("$vc" up --name "${name}b" --dir "$tmp/vcb" --nodes 3 --cpu-bind node --tcp-cc "$cc" --burst 64k 2>"$tmp/b.err") ||
      { echo "up --cpu-bind node failed: $(tail -3 "$tmp/b.err")"; exit 1; }
    eval "$out"
    timeout 60 srun -N3 -n3 sh -c 'echo $(hostname) $(sed -n "s/^Cpus_allowed_list:[[:space:]]*//p" /proc/self/status) $(cat /proc/sys/net/ipv4/tcp_congestion_control)' 2>&1 | sort
    "$vc" rate node2 100mbit 2>/dev/null
    { tc qdisc show dev "${name}b-v1"; tc -n "${name}b-node1" qdisc show dev eth0
      tc qdisc show dev "${name}b-v2"; tc -n "${name}b-node2" qdisc show dev eth0; } >"$tmp/burst.out"
    "$vc" down --dir "$tmp/vcb" >/dev/null 2>&1
  ) >"$tmp/bind.out"
  # tc prints the depth rounded to its time grid: 65536 bytes come back as 64Kb or 65500b
  bursts=$(sed -n 's/.* rate \([^ ]*\) burst \([^ ]*\) .*/\1 \2/p' "$tmp/burst.out" | awk '{
    b = $2; f = b ~ /Kb$/ ? 1024 : b ~ /Mb$/ ? 1048576 : 1; sub(/[KM]?b$/, "", b)
    printf "%s %s ", $1, (b * f >= 65000 && b * f <= 66000) ? "64k" : b * f "B" }')
  check '[[ $bursts == "1Gbit 64k 1Gbit 64k 100Mbit 64k 100Mbit 64k " ]]' \
    "--burst 64k, then rate node2 100mbit: rate/burst of node1, node2 (host end, node end): $bursts"
  mapfile -t cpus < <(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status | tr , '\n' |
    awk -F- '{ for (c = $1; c <= ($2 == "" ? $1 : $2); c++) print c }')
  want=$(for k in 1 2 3; do echo "node$k ${cpus[$(((k - 1) % ${#cpus[@]}))]} $cc"; done)
  check '[[ $(cat "$tmp/bind.out") == "$want" ]]' "--cpu-bind node --tcp-cc $cc: $(tr '\n' ' ' <"$tmp/bind.out"), want $(tr '\n' ' ' <<<"$want")"
  check '[[ $(cat /proc/sys/net/ipv4/tcp_allowed_congestion_control) == "$allowed0" ]]' \
    "allowed congestion controls after down: '$(cat /proc/sys/net/ipv4/tcp_allowed_congestion_control)', before up: '$allowed0'"
  for a in "--cpu-bind core" "--tcp-cc nosuchcc" "--burst 1k" "--burst lots"; do
    # shellcheck disable=SC2086 # two words: option and value
    "$vc" up --name "${name}c" --dir "$tmp/vcc" --nodes 2 $a >/dev/null 2>"$tmp/badarg.err"
    rc=$?
    check '[[ $rc == 2 && $(wc -l <"$tmp/badarg.err") == 1 && ! -e $tmp/vcc ]]' "up $a: rc $rc, $(cat "$tmp/badarg.err")"
  done

  # --- an interrupted up removes what it made ---
  "$vc" up --name "${name}x" --nodes 3 >/dev/null 2>"$tmp/int.err" &
  upid=$!
  for _ in $(seq 500); do ip netns list | grep -q "^${name}x-node2 " && break; sleep 0.01; done
  kill -TERM "$upid"
  wait "$upid"
  rc=$?
  check '[[ $rc == 1 ]] && grep -q "up failed: interrupted" "$tmp/int.err"' "interrupted up: rc $rc: $(cat "$tmp/int.err")"
  check '[[ -z $(ip netns list | grep "^${name}x-") && -z $(ip -o link show | grep " ${name}x-") && ! -e /tmp/vcluster-${name}x ]]' \
    "an interrupted up left: $(ip netns list | grep "^${name}x-" | tr '\n' ' ') $(ip -o link show | grep -o " ${name}x-[^:@]*" | tr '\n' ' ')"
fi

# --- down: no namespace, link, daemon or directory left; a second down is fine ---
pids=$(awk '{ print $2 }' "$tmp/vc/pids")
cd "$tmp" || exit 1
"$vc" down --dir "$tmp/vc" 2>"$tmp/down.err"
rc=$?
left=""
# (a zombie is dead: the daemons' parent is init, which may reap them a moment later)
for p in $pids; do
  [[ -e /proc/$p ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$p/status" 2>/dev/null && left+=" $p($(cat "/proc/$p/comm" 2>/dev/null))"
done
check '[[ $rc == 0 && -z $left && ! -e $tmp/vc ]]' "down: rc $rc, left running:$left: $(tail -3 "$tmp/down.err" | tr '\n' ' ')"
check '[[ -z $(ip netns list | grep "^$name-") && -z $(ip -o link show | grep " $name-") ]]' \
  "down left: $(ip netns list | grep "^$name-" | tr '\n' ' ') $(ip -o link show | grep -o " $name-[^:@]*" | tr '\n' ' ')"
"$vc" down --dir "$tmp/vc" 2>/dev/null
rc=$?
check '[[ $rc == 0 ]]' "a second down failed: rc $rc"

finish cli_vcluster
