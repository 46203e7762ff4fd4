# Storm from the stand-in tarball the tests build (test/standins/build_storm.py), served by
# the lab master as salt://build/standins/...  To run the same tests against a real
# release, start the lab with STORM_SOURCE (a URL or salt:// path of
# apache-storm-<version>.tar.gz) and STORM_SOURCE_HASH (its .sha512 URL or sha512=<hex>)
# in the environment; STORM_VERSION if it is not 2.8.8.
storm:
  version: {{ salt['environ.get']('STORM_VERSION', '2.8.8') }}
  archive:
    source: {{ salt['environ.get']('STORM_SOURCE', 'salt://build/standins/apache-storm-{version}.tar.gz') }}
    source_hash: {{ salt['environ.get']('STORM_SOURCE_HASH', 'salt://build/standins/apache-storm-{version}.tar.gz.sha512') }}
  # Small heaps and two slots per supervisor: six hosts share one test machine.
  slots: 2
  heap_mb:
    nimbus: 256
    ui: 128
    supervisor: 128
    logviewer: 64
  config:
    worker.heap.memory.mb: 256
  health:
    timeout: 120
  # Tests replace the topology several times: a short drain before each kill.
  topologies:
    iris:
      kill_wait: 2
