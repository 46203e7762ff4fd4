# One host in every role: ZooKeeper member 1, nimbus (with the UI) and supervisor (with
# the logviewer).  The minion id is the one kitchen.yml gives the container
# (provisioner salt_minion_id); the address is the container's own, taken when the
# pillar renders, so storm.local.hostname is an address the host really has.
cluster:
  discovery: pillar
  zookeeper:
    - id: 1
      minion: kitchen
      address: "{{ salt['network.ip_addrs']()[0] }}"
  nimbus:
    - minion: kitchen
      address: "{{ salt['network.ip_addrs']()[0] }}"
  supervisor:
    - minion: kitchen
      address: "{{ salt['network.ip_addrs']()[0] }}"
