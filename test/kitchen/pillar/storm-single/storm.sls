# Storm from its default release URL and .sha512 (storm/parameters/defaults.yaml); the
# workers' conda environment from Miniforge's default installer (conda formula defaults).
storm:
  # A test secret; a real cluster keeps its own out of the repository.
  zookeeper_auth:
    password: kitchen-only-digest-secret
  # Small heaps: every daemon shares one container.
  heap_mb:
    nimbus: 512
    ui: 128
    supervisor: 128
    logviewer: 64
  config:
    # The UI moves off 8080: the ZooKeeper verifier checks that nothing listens there
    # (ZooKeeper's admin server is off), which must stay true on a host that runs both.
    ui.port: 8081
  # No model here: the orchestrate's `build:` mode needs a master (minionfs) and masterless
  # Kitchen has none, so the bundled iris topology, which classifies with it, stays off.
  topologies:
    iris:
      enabled: false
