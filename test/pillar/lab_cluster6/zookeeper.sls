# Small heaps: three JVMs share one test machine.
zookeeper:
  heap_mb: 128
  health:
    timeout: 120
