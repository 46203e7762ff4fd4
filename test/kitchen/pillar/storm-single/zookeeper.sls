zookeeper:
  heap_mb: 256
