cluster:
  zookeeper:
    - id: 1
      minion: zka
      address: 10.77.0.41
