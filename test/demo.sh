#!/usr/bin/env bash
# The main job: boot the lab (one systemd host per cluster node, a real salt-master and
# minions), then bring the cluster up with the real orchestrate, exactly as an operator
# would on their own master.  Leaves the lab running; `make down` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
TOPOLOGY=${1:-test/lab_topologies/zk3.yaml}
VENV=${LAB_VENV:-/opt/storm-sklearn-lab/venv}
lab() { PYTHONPATH=test "$VENV/bin/python" -m lab "$@"; }
# Salt 3008 complains about its own unclosed clients at exit; noise for a newcomer.
export PYTHONWARNINGS=ignore::ResourceWarning
quiet() { "$@" 2>&1 | { grep -v 'call ``destroy()``' || true; }; }
step() { printf '\n[demo %4ss] %s\n' "$SECONDS" "$*"; }

step "booting the lab from $TOPOLOGY (first run builds the Debian image: ~1 min)"
lab up --topology "$TOPOLOGY"

step "syncing the package's custom modules to the master (salt-run saltutil.sync_all)"
quiet lab salt-run -- -l error saltutil.sync_all >/dev/null

step "salt-run state.orchestrate storm.orchestrate"
quiet lab salt-run -- -l error state.orchestrate storm.orchestrate --state-output=terse

step "quorum as ZooKeeper reports it (zookeeper_quorum.quorum on zk1)"
quiet lab salt -- -l error zk1 zookeeper_quorum.quorum --out=yaml

lab artifacts >/dev/null
step "done. The lab keeps running:"
lab status
cat <<TXT

  files the formulas wrote:  build/artifacts/<host>/...
  run a command on a host:   PYTHONPATH=test $VENV/bin/python -m lab exec zk1 -- systemctl status zookeeper
  salt on the lab master:    PYTHONPATH=test $VENV/bin/python -m lab salt -- '*' test.ping
  stop everything:           make down
TXT
