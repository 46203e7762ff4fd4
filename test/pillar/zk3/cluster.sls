# Three ZooKeeper hosts listed explicitly, ids deliberately not in minion order.
cluster:
  zookeeper:
    - id: 3
      minion: zk3
      address: 192.0.2.13
    - id: 1
      minion: zk1
      address: 192.0.2.11
    - id: 2
      minion: zk2
      address: 192.0.2.12
zookeeper:
  heap_mb: 256
  properties:
    tickTime: 3000
