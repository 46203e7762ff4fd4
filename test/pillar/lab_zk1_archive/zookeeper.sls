# The archive install, fetched from the master's file server the way an air-gapped site
# would mirror Apache's release (test/standins/build_zookeeper.py builds it; its .sha512 is
# in the old `gpg --print-md` format, which the formula must parse).
zookeeper:
  install_method: archive
  archive:
    version: 3.8.0
    source: salt://build/standins/apache-zookeeper-{version}-bin.tar.gz
    source_hash: salt://build/standins/apache-zookeeper-{version}-bin.tar.gz.sha512
  heap_mb: 128
