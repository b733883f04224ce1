#!/usr/bin/env bash
# cli_install.sh - salient installed as HPC software: `cmake --install` of this build into a
# temporary prefix, then, as a cluster user would: the Lmod modulefile (module use, module
# load: the installed salient on PATH, SALIENT_ROOT, CMAKE_PREFIX_PATH; module unload undoes
# it), an installed job script that runs the salient on PATH (train.sbatch's in-job path with
# SALIENT_LAUNCHER=mpirun, as if Slurm had started it), and a project outside this tree that
# finds the package (find_package(salient)) and links salient::comm alone, run on 2 ranks.
# Without Lmod the test is skipped (exit 77, a line says why), never passed.
# Usage: cli_install.sh SALIENT SRCDIR   (SALIENT is BUILD/bin/salient; BUILD is installed)
bin=$1 src=$2
source "$(dirname "$0")/lib.sh"
build=$(cd "$(dirname "$bin")/.." && pwd)
version=$(sed -n 's/^project(salient VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")

# Debian 12's lmod package puts its shell setup here (/etc/profile.d/lmod.sh sources it).
lmod_init=/usr/share/lmod/lmod/init/bash
if [[ ! -r $lmod_init ]]; then
  echo "cli_install: SKIPPED (no Lmod: $lmod_init missing; apt-get install lmod, or scripts/install-deps)"
  exit 77
fi

P=$tmp/prefix
cmake --install "$build" --prefix "$P" >"$tmp/install.log" 2>&1
rc=$?
check '[[ $rc == 0 ]]' "cmake --install failed ($rc): $(tail -3 "$tmp/install.log")"
for f in bin/salient share/salient/jobs/train.sbatch share/salient/jobs/scaling.sh; do
  check '[[ -x $P/$f ]]' "not installed (executable): $f"
done
for f in include/salient/allreduce.h include/salient/status.h lib/libsalient_comm.a \
  lib/libsalient_core.a lib/libsalient.a lib/cmake/salient/salientConfig.cmake \
  lib/cmake/salient/salientConfigVersion.cmake lib/cmake/salient/salientTargets.cmake \
  share/salient/jobs/lib/common.sh share/salient/jobs/configs/smoke.ini \
  share/doc/salient/user-guide.md share/doc/salient/README.md \
  "share/modulefiles/salient/$version.lua"; do
  check '[[ -f $P/$f ]]' "not installed: $f"
done
check '[[ ! -e $P/include/salient/allreduce_internal.h && ! -e $P/include/comm ]]' \
  "internal headers were installed"

# --- the modulefile, through Lmod itself ---
# Lmod's scripts read unset variables; lib.sh's set -u stays off from here.
set +u
# shellcheck disable=SC1090
source "$lmod_init"
hash -r
before=$(command -v salient)
module use "$P/share/modulefiles" 2>"$tmp/module.err"
module load salient 2>>"$tmp/module.err"
rc=$?
hash -r
check '[[ $rc == 0 ]]' "module load salient failed ($rc): $(cat "$tmp/module.err")"
check '[[ $(command -v salient) == "$P/bin/salient" ]]' \
  "after module load, salient on PATH is '$(command -v salient)', not $P/bin/salient"
check '[[ $SALIENT_ROOT == "$P" ]]' "SALIENT_ROOT is '$SALIENT_ROOT', not $P"
check '[[ :$CMAKE_PREFIX_PATH: == *:$P:* ]]' "CMAKE_PREFIX_PATH '$CMAKE_PREFIX_PATH' lacks $P"
check '[[ $(module -t list 2>&1) == *salient/$version* ]]' "module list: $(module -t list 2>&1)"
salient --help >"$tmp/help.out" 2>&1
rc=$?
check '[[ $rc == 0 ]] && grep -q "^usage: salient <command>" "$tmp/help.out" && grep -q "^  train CONFIG.ini" "$tmp/help.out"' \
  "installed salient --help: rc $rc: $(head -3 "$tmp/help.out")"
check '[[ $(salient --version) == "salient $version" ]]' \
  "salient --version says '$(salient --version)', the modulefile $version"

# --- an installed job script, using the salient on PATH ---
# train.sbatch's in-job path (what runs on the first node once Slurm starts the job), given the
# variables Slurm would set and Open MPI's launcher: no Slurm needed, and no SALIENT_BIN and no
# build/ under the submit directory, so PATH is the only place it can find salient.
mkdir -p "$tmp/job"
(cd "$tmp/job" && env -u SALIENT_BIN SLURM_JOB_ID=4242 SLURM_JOB_NAME=smoke SLURM_NTASKS=2 \
  SLURM_JOB_NUM_NODES=1 SLURM_JOB_NODELIST=localhost SLURM_SUBMIT_DIR="$tmp/job" \
  SALIENT_LAUNCHER=mpirun "$SALIENT_ROOT/share/salient/jobs/train.sbatch" \
  "$SALIENT_ROOT/share/salient/jobs/configs/smoke.ini" --set train.algorithm=allreduce \
  --set data.clients=2 >"$tmp/job.out" 2>&1)
rc=$?
check '[[ $rc == 0 ]]' "installed train.sbatch: rc $rc: $(tail -3 "$tmp/job.out")"
check 'grep -q "^train.sbatch: job 4242 on 1 node(s) (localhost), 2 ranks; $P/bin/salient train " "$tmp/job.out"' \
  "train.sbatch did not run $P/bin/salient: $(grep -m1 '^train.sbatch: job' "$tmp/job.out")"
check '[[ -f $tmp/job/runs/smoke-4242/summary.json && $(wc -l <"$tmp/job/runs/smoke-4242/metrics.csv") == 3 ]]' \
  "the job's run has no summary.json or not 2 rounds in metrics.csv: $(ls "$tmp/job/runs/smoke-4242" 2>&1)"
"$SALIENT_ROOT/share/salient/jobs/scaling.sh" --help >"$tmp/scaling.out" 2>&1
check '[[ $? == 0 ]] && grep -q "scaling study" "$tmp/scaling.out"' \
  "installed scaling.sh --help: $(head -2 "$tmp/scaling.out")"

# --- a project outside this tree: find_package(salient), salient::comm on 2 ranks ---
cmake -S "$src/tests/install_consumer" -B "$tmp/consumer" -DCMAKE_BUILD_TYPE=Release \
  >"$tmp/consumer.log" 2>&1 && cmake --build "$tmp/consumer" >>"$tmp/consumer.log" 2>&1
rc=$?
check '[[ $rc == 0 ]]' "the consumer project did not build: $(grep -m3 -i 'error' "$tmp/consumer.log")"
# salient::comm is the communication library alone: no training library, no HDF5, no libinih
link=$tmp/consumer/CMakeFiles/consumer.dir/link.txt
check 'grep -q "$P/lib/libsalient_comm.a" "$link" && ! grep -Eq "libsalient\.a|hdf5|inih" "$link"' \
  "consumer's link line: $(cat "$link" 2>&1)"
mpirun -np 2 "$tmp/consumer/consumer" >"$tmp/consumer.out" 2>&1
rc=$?
check '[[ $rc == 0 ]] && grep -q "^consumer: 2 ranks, ring degree 1, sparse allreduce (.*): ok$" "$tmp/consumer.out"' \
  "consumer on 2 ranks: rc $rc: $(cat "$tmp/consumer.out")"
"$tmp/consumer/consumer_full" >"$tmp/full.out" 2>&1
rc=$?
check '[[ $rc == 0 && $(cat "$tmp/full.out") == "consumer_full: rounds = 7" ]]' \
  "consumer_full (salient::salient): rc $rc: $(cat "$tmp/full.out")"

module unload salient 2>/dev/null
hash -r
check '[[ $(command -v salient) == "$before" && -z $SALIENT_ROOT ]]' \
  "module unload left salient at '$(command -v salient)', SALIENT_ROOT '$SALIENT_ROOT'"
finish cli_install
