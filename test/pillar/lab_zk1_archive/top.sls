base:
  '*':
    - cluster
    - zookeeper
