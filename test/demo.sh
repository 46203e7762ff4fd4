#!/usr/bin/env bash
# The main job: boot the lab (one systemd host per cluster node, a real salt-master and
# minions), then bring the cluster up with the real orchestrate, exactly as an operator
# would on their own master.  Leaves the lab running; `make down` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
TOPOLOGY=${1:-test/lab_topologies/cluster6.yaml}
VENV=${LAB_VENV:-/opt/storm-sklearn-lab/venv}
lab() { PYTHONPATH=test "$VENV/bin/python" -m lab "$@"; }
# Salt 3008 complains about its own unclosed clients at exit; noise for a newcomer.
export PYTHONWARNINGS=ignore::ResourceWarning
quiet() { "$@" 2>&1 | { grep -v 'call ``destroy()``' || true; }; }
step() { printf '\n[demo %4ss] %s\n' "$SECONDS" "$*"; }

step "booting the lab from $TOPOLOGY (first run builds the Debian image: ~1 min)"
lab up --topology "$TOPOLOGY"

if grep -q 'nimbus' "$TOPOLOGY"; then
  if [ -n "${STORM_SOURCE:-}" ]; then storm_from="Apache's tarball $STORM_SOURCE"
  else storm_from="Apache's release jars, assembled by tools/storm_dist.py"; fi
  if [ -n "${MINIFORGE_SOURCE:-}" ]; then conda_from="the real installer $MINIFORGE_SOURCE"
  else conda_from="the stand-in built by test/standins/build_miniforge.py"; fi
  step "Storm comes from $storm_from; Miniforge from $conda_from"
  PY="$VENV/bin/python"
  if [ -z "${STORM_SOURCE:-}" ]; then
    step "assembling Apache Storm ${STORM_VERSION:-2.8.3} from its release jars (cached after the first run)"
    "$PY" tools/storm_dist.py --version "${STORM_VERSION:-2.8.3}" --out build/storm
  fi
  step "building the Miniforge stand-in (its download site is out of reach; see test/standins)"
  [ -n "${MINIFORGE_SOURCE:-}" ] || "$PY" test/standins/build_miniforge.py --out build/standins
  step "filling the lab's Python package mirror with the workers' packages"
  PYTHONPATH=test "$PY" -c 'from lab import wheelhouse_add; wheelhouse_add(["numpy==2.4.6",
      "scikit-learn==1.9.1", "joblib==1.6.0", "setuptools<81", "streamparse==5.0.1",
      "pip", "wheel"])' >/dev/null
fi

step "syncing the package's custom modules (salt-run saltutil.sync_all; salt '*' ...)"
quiet lab salt-run -- -l error saltutil.sync_all >/dev/null
quiet lab salt -- -l error '*' saltutil.sync_all >/dev/null
# Mine discovery (the six-host lab): every host publishes its record once.
quiet lab salt -- -l error '*' mine.update >/dev/null

step "salt-run state.orchestrate storm.orchestrate"
quiet lab salt-run -- -l error state.orchestrate storm.orchestrate --state-output=terse

step "quorum as ZooKeeper reports it (zookeeper_quorum.quorum on zk1)"
quiet lab salt -- -l error zk1 zookeeper_quorum.quorum --out=json \
  | "$VENV/bin/python" test/demo_summary.py quorum
if grep -q 'nimbus' "$TOPOLOGY"; then
  step "Storm as its leader nimbus reports it over Thrift (storm_nimbus.summary on nimbus1)"
  quiet lab salt -- -l error nimbus1 storm_nimbus.summary 10.77.0.21 --out=json \
    | "$VENV/bin/python" test/demo_summary.py storm
  step "the model on each worker (sklearn_model.current, verified at deploy)"
  for w in sup1 sup2; do
    printf '  %s: iris %s, sha256 %s\n' "$w" \
      "$(lab exec "$w" -- readlink /srv/models/iris/current)" \
      "$(lab exec "$w" -- sha256sum /srv/models/iris/current/model.joblib | cut -c1-16)"
  done
  # Three looks a few seconds apart: the counts grow while the topology classifies.
  for look in 1 2 3; do
    step "live classifications, look $look of 3 (storm_topology.predictions on the workers)"
    quiet lab salt -- -l error -L sup1,sup2 storm_topology.predictions \
      '/var/lib/storm/iris/predictions-{task}.jsonl' tail=3 --out=json --static \
      | "$VENV/bin/python" test/demo_summary.py predictions
    [ "$look" = 3 ] || sleep 5
  done
fi

lab artifacts >/dev/null
step "done. The lab keeps running:"
lab status
cat <<TXT

  files the formulas wrote:  build/artifacts/<host>/...
  run a command on a host:   PYTHONPATH=test $VENV/bin/python -m lab exec zk1 -- systemctl status zookeeper
  salt on the lab master:    PYTHONPATH=test $VENV/bin/python -m lab salt -- '*' test.ping
  stop everything:           make down
TXT
