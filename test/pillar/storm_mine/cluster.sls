# Mine-discovered cluster with a host that is nimbus and supervisor at once, explicit slot
# ports, and ZooKeeper on another port.
cluster:
  discovery: mine
zookeeper:
  ports:
    client: 2281
storm:
  slots_ports: [7000, 7001]
  zookeeper_auth:
    password: render-test-digest-secret
  archive:
    source_hash: sha512=cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc
  # Storm alone, no model: the bundled topology is switched off.
  topologies:
    iris:
      enabled: false
