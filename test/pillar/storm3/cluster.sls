# 3 ZooKeeper + 1 nimbus + 2 supervisors, explicit; the render tests' Storm cluster.
cluster:
  zookeeper:
    - {id: 1, minion: zk1, address: 192.0.2.11}
    - {id: 2, minion: zk2, address: 192.0.2.12}
    - {id: 3, minion: zk3, address: 192.0.2.13}
  nimbus:
    - {minion: nimbus1, address: 192.0.2.21}
  supervisor:
    - {minion: sup1, address: 192.0.2.31}
    - {minion: sup2, address: 192.0.2.32}
storm:
  zookeeper_auth:
    password: render-test-digest-secret
  # Render tests never download: a pinned checksum.
  archive:
    source_hash: sha512=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
# The model the bundled iris topology classifies with (trained in the orchestrate).
sklearn_model:
  models:
    iris:
      version: '1'
      build: {}
