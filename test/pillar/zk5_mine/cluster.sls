# Five ZooKeeper hosts found through role grains and the Salt mine.
cluster:
  discovery: mine
  mine:
    network: 192.0.2.0/24
