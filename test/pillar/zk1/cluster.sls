# One ZooKeeper host: a standalone server (no server.N lines).
cluster:
  zookeeper:
    - id: 1
      minion: zk1
      address: 192.0.2.11
