# Debian's zookeeper package (the formula's default install_method), with a heap that
# fits a laptop.
zookeeper:
  install_method: package
  heap_mb: 256
