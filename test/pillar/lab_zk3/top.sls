# The lab's three-host ZooKeeper cluster (test/lab_topologies/zk3.yaml).  `*` also matches
# the master's own id, so the orchestrate sees the same membership as the minions.
base:
  '*':
    - cluster
    - zookeeper
    - overrides
