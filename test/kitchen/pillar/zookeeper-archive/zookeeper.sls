# Apache's binary release instead of Debian's package, from Apache's archive (it keeps
# every release, unlike downloads.apache.org), verified against the release's own .sha512
# file, which the formula fetches and parses when it renders.  Needs the internet.
zookeeper:
  install_method: archive
  archive:
    version: 3.8.4
    source: https://archive.apache.org/dist/zookeeper/zookeeper-{version}/apache-zookeeper-{version}-bin.tar.gz
    source_hash: https://archive.apache.org/dist/zookeeper/zookeeper-{version}/apache-zookeeper-{version}-bin.tar.gz.sha512
  heap_mb: 256
