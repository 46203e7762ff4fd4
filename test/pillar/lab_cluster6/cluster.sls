# The six-host lab finds its members the other supported way: role grains (set by the
# topology) and the Salt mine.
cluster:
  discovery: mine
  mine:
    network: 10.77.0.0/24
mine_functions:
  clustermap.node: []
