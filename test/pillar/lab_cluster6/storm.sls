# Real Apache Storm: the distribution the tests assemble from Storm's release jars
# (tools/storm_dist.py: Apache's binary layout without lib-webapp/, so no UI, logviewer or
# DRPC server), served by the lab master as salt://build/storm/...  To run the same tests
# against Apache's tarball, start the lab with STORM_SOURCE (a URL or salt:// path of
# apache-storm-<version>.tar.gz) and STORM_SOURCE_HASH (its .sha512 URL or sha512=<hex>)
# in the environment, STORM_VERSION if it is not 2.8.3, and STORM_WEBAPP=true to run the
# UI and logviewer as well.
{%- set webapp = salt['environ.get']('STORM_WEBAPP', 'false') == 'true' %}
storm:
  version: {{ salt['environ.get']('STORM_VERSION', '2.8.3') }}
  archive:
    source: {{ salt['environ.get']('STORM_SOURCE', 'salt://build/storm/apache-storm-{version}.tar.gz') }}
    source_hash: {{ salt['environ.get']('STORM_SOURCE_HASH', 'salt://build/storm/apache-storm-{version}.tar.gz.sha512') }}
    webapp: {{ webapp | json }}
  daemons:
    ui: {{ webapp | json }}
    logviewer: {{ webapp | json }}
  # Two slots per supervisor and small daemon heaps: six hosts share one test machine
  # (a worker is two JVMs plus its Python processes).
  slots: 2
  # The lab's ZooKeeper secret (a real cluster keeps its own out of the repository).
  zookeeper_auth:
    password: lab-only-digest-secret-3f9c2a7e
  # The machine's side of the lab bridge is the operator's host: the tests and the bench
  # talk to nimbus from it.  Anyone else on the bridge is refused (test_lab_security.py).
  firewall:
    allow: [10.77.0.1]
  heap_mb:
    nimbus: 384
    ui: 192
    supervisor: 192
    logviewer: 128
  config:
    worker.heap.memory.mb: 384
    topology.worker.max.heap.size.mb: 512.0
  health:
    timeout: 180
  # Tests replace the topology several times: a short drain before each kill.
  topologies:
    iris:
      kill_wait: 2
