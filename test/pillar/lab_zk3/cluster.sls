cluster:
  discovery: pillar
  zookeeper:
    - id: 1
      minion: zk1
      address: 10.77.0.11
    - id: 2
      minion: zk2
      address: 10.77.0.12
    - id: 3
      minion: zk3
      address: 10.77.0.13
