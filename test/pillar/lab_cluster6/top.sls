# The lab's six-host cluster (test/lab_topologies/cluster6.yaml).  `*` also matches
# the master's own id, so the orchestrate sees the same membership as the minions.
base:
  '*':
    - cluster
    - zookeeper
    - storm
    - workers
    - overrides
