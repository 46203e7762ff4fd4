# A one-member ZooKeeper "ensemble": the container itself, under the minion id kitchen.yml
# gives it (provisioner salt_minion_id).  Its address is the container's own, taken when
# the pillar renders (Docker assigns it at run time); zookeeper.health polls it.
cluster:
  discovery: pillar
  zookeeper:
    - id: 1
      minion: kitchen
      address: "{{ salt['network.ip_addrs']()[0] }}"
